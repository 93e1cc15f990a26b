import * as assert from 'assert';

import { renderAnswerHtml } from '../src/answerHtml';
import { explainArguments } from '../src/selection';
import { modelLabel, statusText, statusTooltip } from '../src/statusText';

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
  const running = { model: 'default model', indexState: 'present' as const, lastLatencyMs: 123.4, completionsEnabled: true, serverRunning: true };

  it('statusText shows model, index and latency', () => {
    assert.strictEqual(statusText(running), '$(sparkle) ragcoder (default model) · indexed · 123 ms');
    assert.strictEqual(statusText({ ...running, lastLatencyMs: null, indexState: 'missing' }), '$(sparkle) ragcoder (default model) · no index');
    assert.strictEqual(statusText({ ...running, completionsEnabled: false }), '$(circle-slash) ragcoder (default model) · indexed · 123 ms');
    assert.strictEqual(statusText({ ...running, serverRunning: false }), '$(error) ragcoder: stopped');
  });

  it('statusTooltip names the model', () => {
    assert.ok(statusTooltip({ ...running, model: 'qwen-coder' }).includes('Model: qwen-coder'));
  });

  it('modelLabel takes the file name without .gguf', () => {
    assert.strictEqual(modelLabel('/models/qwen2.5-coder-0.5b.Q8_0.gguf'), 'qwen2.5-coder-0.5b.Q8_0');
    assert.strictEqual(modelLabel(''), 'default model');
  });
});
