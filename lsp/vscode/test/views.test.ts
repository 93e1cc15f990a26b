import * as assert from 'assert';

import { renderAnswerHtml } from '../src/answerHtml';
import { explainArguments } from '../src/selection';
import { modelLabel, type StatusSnapshot, statusText, statusTooltip } from '../src/statusText';

describe('answer panel', () => {
  it('renderAnswerHtml escapes text and links every source', () => {
    const html = renderAnswerHtml(
      'Q <1>',
      {
        answer: 'Use <script>alert(1)</script> & more',
        sources: [
          { path: 'json/decoder.py', symbol: 'scanstring', start_line: 10, end_line: 40, score: 0.5 },
          { path: 'json/__init__.py', symbol: '', start_line: 1, end_line: 5, score: 0.25 },
        ],
      },
      'abc123',
    );

    assert.ok(!html.includes('<script>alert'), 'answer text is not escaped');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more'));
    assert.ok(html.includes('json/decoder.py:10-40'));
    assert.strictEqual((html.match(/data-index="/g) ?? []).length, 2);
    assert.ok(html.includes("script-src 'nonce-abc123'"));
  });

  it('renderAnswerHtml without sources says so', () => {
    assert.ok(renderAnswerHtml('Q', { answer: 'a', sources: [] }, 'n').includes('No sources.'));
  });
});

describe('explainArguments', () => {
  it('whole-line selection drops the line after it', () => {
    assert.deepStrictEqual(explainArguments('file:///a.py', { start: { line: 3 }, end: { line: 7, character: 0 } }), ['file:///a.py', 3, 6]);
  });

  it('partial selection keeps its last line', () => {
    assert.deepStrictEqual(explainArguments('file:///a.py', { start: { line: 3 }, end: { line: 7, character: 2 } }), ['file:///a.py', 3, 7]);
  });

  it('empty selection is the cursor line', () => {
    assert.deepStrictEqual(explainArguments('file:///a.py', { start: { line: 5 }, end: { line: 5, character: 0 } }), ['file:///a.py', 5, 5]);
  });
});

describe('status bar', () => {
  const running: StatusSnapshot = {
    serverRunning: true,
    completionsEnabled: true,
    model: 'gemma-3-270m-q4_k_m.gguf',
    index: { state: 'ready', files: 12, chunks: 80 },
    serverLatencyMs: 123.4,
    clientLatencyMs: 140.2,
  };

  it('statusText shows model, index and server latency', () => {
    assert.strictEqual(statusText(running), '$(sparkle) gemma-3-270m-q4_k_m · 12 files indexed · 123 ms');
  });

  it('statusText for each index state', () => {
    const cases: Array<[StatusSnapshot['index'], string]> = [
      [{ state: 'missing' }, 'no index'],
      [{ state: 'indexing', done: 3, total: 10, percentage: 30, message: 'a.py' }, 'indexing 30%'],
      [{ state: 'invalid', message: 'index at .ragcoder has format 1' }, 'index invalid'],
      [null, 'index ?'],
    ];
    for (const [index, label] of cases) {
      assert.strictEqual(statusText({ ...running, index, serverLatencyMs: null, clientLatencyMs: null }), `$(sparkle) gemma-3-270m-q4_k_m · ${label}`);
    }
  });

  it('statusText falls back to the editor latency', () => {
    assert.strictEqual(statusText({ ...running, serverLatencyMs: null }), '$(sparkle) gemma-3-270m-q4_k_m · 12 files indexed · 140 ms');
  });

  it('statusText when completions are off or the server stopped', () => {
    assert.ok(statusText({ ...running, completionsEnabled: false }).startsWith('$(circle-slash) '));
    assert.strictEqual(statusText({ ...running, serverRunning: false }), '$(error) ragcoder: stopped');
  });

  it('statusTooltip lists counts and both latencies', () => {
    const tooltip = statusTooltip(running);

    assert.ok(tooltip.includes('Model: gemma-3-270m-q4_k_m.gguf'), tooltip);
    assert.ok(tooltip.includes('Index: ready, 12 files, 80 chunks'), tooltip);
    assert.ok(tooltip.includes('Last completion: 123 ms in the server, 140 ms in the editor'), tooltip);
    assert.ok(tooltip.includes('Inline completions: on (click to toggle)'), tooltip);
  });

  it('statusTooltip while indexing shows progress', () => {
    const tooltip = statusTooltip({ ...running, index: { state: 'indexing', done: 3, total: 10, percentage: 30, message: 'a.py' } });

    assert.ok(tooltip.includes('Index: indexing, 3 of 10 files (30%) a.py'), tooltip);
  });

  it('modelLabel takes the file name', () => {
    assert.strictEqual(modelLabel('/models/qwen2.5-coder-0.5b.Q8_0.gguf'), 'qwen2.5-coder-0.5b.Q8_0.gguf');
    assert.strictEqual(modelLabel(''), 'default model');
  });
});
