import * as assert from 'assert';

import { isInCommentOrString, isMidWord, shouldRequestCompletion } from '../src/suggestionRules';

/** Split a line at `|`, the cursor. */
function cursor(line: string): [string, number] {
  const column = line.indexOf('|');
  return [line.replace('|', ''), column];
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

  it('isInCommentOrString for python', () => {
    const cases: Array<[string, boolean]> = [
      ['x = 1  # note |', true],
      ['# |', true],
      ['s = "abc |', true],
      ["s = 'it''s |", true],
      ['s = "a\\"b |', true],
      ['s = "abc" + |', false],
      ['s = "# not a comment" + |', false],
      ['def f(|', false],
      ['x = a // b |', false],
    ];
    for (const [line, expected] of cases) {
      assert.strictEqual(isInCommentOrString(...cursor(line), 'python'), expected, line);
    }
  });

  it('isInCommentOrString for c-like languages', () => {
    const cases: Array<[string, boolean]> = [
      ['let x = 1; // |', true],
      ['/* start |', true],
      [' * middle of a block |', true],
      ['const s = `tpl |', true],
      ['const url = "http://x" + |', false],
      ['x = a * b |', false],
      ['# not a comment |', false],
    ];
    for (const [line, expected] of cases) {
      assert.strictEqual(isInCommentOrString(...cursor(line), 'typescript'), expected, line);
    }
  });

  it('shouldRequestCompletion combines the rules', () => {
    const base = { languageId: 'python', isEnabled: true, inCommentsAndStrings: false };
    const [code, codeColumn] = cursor('x = |');
    const [comment, commentColumn] = cursor('# |');
    const [word, wordColumn] = cursor('pri|nt');

    assert.strictEqual(shouldRequestCompletion({ ...base, lineText: code, column: codeColumn }), true);
    assert.strictEqual(shouldRequestCompletion({ ...base, lineText: code, column: codeColumn, isEnabled: false }), false);
    assert.strictEqual(shouldRequestCompletion({ ...base, lineText: comment, column: commentColumn }), false);
    assert.strictEqual(
      shouldRequestCompletion({ ...base, lineText: comment, column: commentColumn, inCommentsAndStrings: true }),
      true,
    );
    assert.strictEqual(
      shouldRequestCompletion({ ...base, lineText: word, column: wordColumn, inCommentsAndStrings: true }),
      false,
    );
  });
});
