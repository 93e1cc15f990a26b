import * as assert from 'assert';
import * as vscode from 'vscode';

import { createInlineMiddleware, fitToWord, type InlineMiddlewareOptions } from '../src/inlineMiddleware';

const AUTOMATIC = vscode.InlineCompletionTriggerKind.Automatic;
const ITEMS = [{ insertText: 'return x' }] as unknown as vscode.InlineCompletionItem[];

/** A document with the given text, which may have several lines. */
function documentWithLine(text: string, languageId = 'python'): vscode.TextDocument {
  const lines = text.split('\n');
  return {
    languageId,
    getText: () => text,
    lineAt: (line: number) => ({ text: lines[line] }),
    offsetAt: (at: vscode.Position) => lines.slice(0, at.line).reduce((sum, line) => sum + line.length + 1, 0) + at.character,
  } as unknown as vscode.TextDocument;
}

function position(character: number, line = 0): vscode.Position {
  return new vscode.Position(line, character);
}

function item(insertText: string, start: number, end: number): vscode.InlineCompletionItem {
  return { insertText, range: new vscode.Range(position(start), position(end)) } as unknown as vscode.InlineCompletionItem;
}

function context(triggerKind: number): vscode.InlineCompletionContext {
  return { triggerKind } as unknown as vscode.InlineCompletionContext;
}

function options(overrides: Partial<InlineMiddlewareOptions> = {}): InlineMiddlewareOptions & { latencies: number[] } {
  const latencies: number[] = [];
  return {
    isEnabled: () => true,
    debounceMs: () => 20,
    inCommentsAndStrings: () => false,
    onLatency: (latencyMs) => latencies.push(latencyMs),
    latencies,
    ...overrides,
  };
}

describe('inline completion middleware', () => {
  it('burst of keystrokes sends only the last request', async () => {
    const provide = createInlineMiddleware(options());
    const sent: number[] = [];
    const next = async (_d: vscode.TextDocument, p: vscode.Position) => {
      sent.push(p.character);
      return ITEMS;
    };
    const sources = [0, 1, 2].map(() => new vscode.CancellationTokenSource());

    const lines = ['x = a', 'x = ab', 'x = abc'];

    const results = sources.map((source, index) =>
      provide(documentWithLine(lines[index]), position(lines[index].length), context(AUTOMATIC), source.token, next),
    );
    // VS Code cancels the previous request's token on each keystroke.
    sources[0].cancel();
    sources[1].cancel();

    assert.deepStrictEqual(await Promise.all(results), [null, null, ITEMS]);
    assert.deepStrictEqual(sent, [7]);
  });

  it('mid-word suggestion that splits the word is dropped', async () => {
    const provide = createInlineMiddleware(options());

    const result = await provide(documentWithLine('print'), position(3), context(AUTOMATIC), new vscode.CancellationTokenSource().token, async () => [
      item('(x)', 3, 3),
    ]);

    assert.strictEqual(result, null);
  });

  it('mid-word suggestion that continues the word covers it', async () => {
    const provide = createInlineMiddleware(options());

    const result = (await provide(documentWithLine('print'), position(3), context(AUTOMATIC), new vscode.CancellationTokenSource().token, async () => [
      item('nt(x)', 3, 3),
    ])) as vscode.InlineCompletionItem[];

    assert.strictEqual(result.length, 1);
    assert.strictEqual(result[0].insertText, 'nt(x)');
    assert.deepStrictEqual(result[0].range, new vscode.Range(position(3), position(5)));
  });

  it('fitToWord keeps list shape and server-replaced ranges', () => {
    const list = new vscode.InlineCompletionList([item('nt(a)', 3, 3), item('(b)', 3, 3), item('print(c)', 0, 5)]);

    const fitted = fitToWord(list as unknown as vscode.InlineCompletionList, 'nt', position(3)) as vscode.InlineCompletionList;

    assert.ok(fitted instanceof vscode.InlineCompletionList);
    assert.deepStrictEqual(fitted.items.map((kept) => kept.insertText), ['nt(a)', 'print(c)']);
    assert.deepStrictEqual(fitted.items[1].range, new vscode.Range(position(0), position(5)));
  });

  it('cursor in a docstring sends nothing', async () => {
    let calls = 0;
    const text = 'def f():\n    """Return the\n    sum of ';
    const provide = createInlineMiddleware(options());

    const result = await provide(documentWithLine(text), position(11, 2), context(AUTOMATIC), new vscode.CancellationTokenSource().token, async () => {
      calls++;
      return ITEMS;
    });

    assert.strictEqual(result, null);
    assert.strictEqual(calls, 0);
  });

  it('comment sends nothing unless enabled', async () => {
    let calls = 0;
    const next = async () => {
      calls++;
      return ITEMS;
    };
    const line = '# explain ';

    const skipped = await createInlineMiddleware(options())(documentWithLine(line), position(line.length), context(AUTOMATIC), new vscode.CancellationTokenSource().token, next);
    const sent = await createInlineMiddleware(options({ inCommentsAndStrings: () => true }))(
      documentWithLine(line), position(line.length), context(AUTOMATIC), new vscode.CancellationTokenSource().token, next,
    );

    assert.strictEqual(skipped, null);
    assert.strictEqual(sent, ITEMS);
    assert.strictEqual(calls, 1);
  });

  it('disabled completions send nothing', async () => {
    let calls = 0;
    const provide = createInlineMiddleware(options({ isEnabled: () => false }));

    const result = await provide(documentWithLine('x = '), position(4), context(AUTOMATIC), new vscode.CancellationTokenSource().token, async () => {
      calls++;
      return ITEMS;
    });

    assert.strictEqual(result, null);
    assert.strictEqual(calls, 0);
  });

  it('answered request reports its latency', async () => {
    const clock = [1000, 1042];
    const settings = options({ now: () => clock.shift() ?? 0 });
    const provide = createInlineMiddleware(settings);

    await provide(documentWithLine('x = '), position(4), context(AUTOMATIC), new vscode.CancellationTokenSource().token, async () => ITEMS);

    assert.deepStrictEqual(settings.latencies, [42]);
  });

  it('request cancelled while the server works returns null', async () => {
    const settings = options();
    const provide = createInlineMiddleware(settings);
    const source = new vscode.CancellationTokenSource();

    const result = await provide(documentWithLine('x = '), position(4), context(AUTOMATIC), source.token, async () => {
      source.cancel();
      return ITEMS;
    });

    assert.strictEqual(result, null);
    assert.deepStrictEqual(settings.latencies, []);
  });

  it('explicit trigger skips the debounce', async () => {
    const provide = createInlineMiddleware(options({ debounceMs: () => 60_000 }));

    const result = await provide(
      documentWithLine('x = '), position(4), context(vscode.InlineCompletionTriggerKind.Invoke), new vscode.CancellationTokenSource().token, async () => ITEMS,
    );

    assert.strictEqual(result, ITEMS);
  });
});
