import * as assert from 'assert';

import { continueWord, isMidWord, lexicalContext, shouldRequestCompletion, wordTail } from '../src/suggestionRules';

/** Split text at `|`, the cursor. */
function cursor(text: string): [string, number] {
  const column = text.indexOf('|');
  return [text.replace('|', ''), column];
}

/** Return the text before the cursor `|`. */
function before(text: string): string {
  return text.slice(0, text.indexOf('|'));
}

function checkContexts(languageId: string, cases: Array<[string, string]>): void {
  for (const [text, expected] of cases) {
    assert.strictEqual(lexicalContext(before(text), languageId), expected, `${languageId}: ${JSON.stringify(text)}`);
  }
}

describe('suggestion rules', () => {
  it('isMidWord by cursor position', () => {
    const cases: Array<[string, boolean]> = [
      ['pri|', false],
      ['pri|nt(x)', true],
      ['|print', true],
      ['x = |', false],
      ['foo(|)', false],
      ['name_|part', true],
      ['wert|äöü', true],
      ['|', false],
    ];
    for (const [line, expected] of cases) {
      assert.strictEqual(isMidWord(...cursor(line)), expected, line);
    }
  });

  it('wordTail returns the word after the cursor', () => {
    assert.strictEqual(wordTail(...cursor('pri|nt(x)')), 'nt');
    assert.strictEqual(wordTail(...cursor('self.con|fig_path = 1')), 'fig_path');
    assert.strictEqual(wordTail(...cursor('x = |')), '');
    assert.strictEqual(wordTail(...cursor('foo|')), '');
  });

  it('continueWord keeps suggestions that continue the word', () => {
    assert.deepStrictEqual(continueWord('nt(x)', 'nt'), { text: 'nt(x)', replacedLength: 2 });
    assert.deepStrictEqual(continueWord('anything', ''), { text: 'anything', replacedLength: 0 });
  });

  it('continueWord rejects suggestions that split the word', () => {
    assert.strictEqual(continueWord('(x)', 'nt'), null);
    assert.strictEqual(continueWord('n', 'nt'), null);
    // Only the word's own characters: nothing new to show.
    assert.strictEqual(continueWord('nt', 'nt'), null);
  });

  it('lexicalContext for python', () => {
    checkContexts('python', [
      ['x = 1  # note |', 'comment'],
      ['# |', 'comment'],
      ['# comment\nx = |', 'code'],
      ['s = "abc |', 'string'],
      ["s = 'it''s |", 'string'],
      ['s = "a\\"b |', 'string'],
      ['s = "abc" + |', 'code'],
      ['s = "# not a comment" + |', 'code'],
      ['def f(|', 'code'],
      ['x = a // b |', 'code'],
      ['def f():\n    """Return the\n    sum of |', 'string'],
      ['def f():\n    """Docstring."""\n    return |', 'code'],
      ["x = '''a\n# not a comment\n|", 'string'],
      ['s = f"{name} is |', 'string'],
      ['s = rb"\\d+" + |', 'code'],
      ['for item in items: |', 'code'],
      ['s = "unterminated\nx = |', 'code'],
    ]);
  });

  it('lexicalContext for c-like languages', () => {
    checkContexts('typescript', [
      ['let x = 1; // |', 'comment'],
      ['/* start |', 'comment'],
      ['/**\n * middle of a block |', 'comment'],
      ['/* done */ x = |', 'code'],
      ['const s = `tpl |', 'string'],
      ['const s = `line one\nline two |', 'string'],
      ['const s = `done`;\nconst t = |', 'code'],
      ['const url = "http://x" + |', 'code'],
      ["const s = 'it\\'s |", 'string'],
      ['x = a * b |', 'code'],
      ['# not a comment |', 'code'],
    ]);
  });

  it('lexicalContext for rust lifetimes and nested comments', () => {
    checkContexts('rust', [
      ["fn f<'a>(x: &'a str) -> |", 'code'],
      ["let c = 'x'; let d = |", 'code'],
      ["let c = '\\n'; let d = |", 'code'],
      ['/* outer /* inner */ still |', 'comment'],
      ['/* outer /* inner */ done */ let x = |', 'code'],
      ['let s = "a |', 'string'],
    ]);
  });

  it('lexicalContext for go raw strings', () => {
    checkContexts('go', [
      ['s := `C:\\path\\|', 'string'],
      ['s := `raw\\`; x := |', 'code'],
      ["r := 'x'; y := |", 'code'],
    ]);
  });

  it('lexicalContext for other languages is code', () => {
    checkContexts('plaintext', [['# heading |', 'code']]);
  });

  it('shouldRequestCompletion combines the rules', () => {
    const base = { languageId: 'python', isEnabled: true, inCommentsAndStrings: false };

    assert.strictEqual(shouldRequestCompletion({ ...base, textBeforeCursor: 'x = ' }), true);
    assert.strictEqual(shouldRequestCompletion({ ...base, textBeforeCursor: 'x = ', isEnabled: false }), false);
    assert.strictEqual(shouldRequestCompletion({ ...base, textBeforeCursor: '# ' }), false);
    assert.strictEqual(shouldRequestCompletion({ ...base, textBeforeCursor: '# ', inCommentsAndStrings: true }), true);
    // Mid-word cursors are decided on the result, by continueWord.
    assert.strictEqual(shouldRequestCompletion({ ...base, textBeforeCursor: 'pri' }), true);
  });
});
