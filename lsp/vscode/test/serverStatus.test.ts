import * as assert from 'assert';

import { INDEXING_POLL_MS, parseServerStatus, StatusController, type StatusControllerHost } from '../src/serverStatus';
import type { StatusSnapshot } from '../src/statusText';

const READY = { model: 'gemma-3-270m-q4_k_m.gguf', index: { state: 'ready', files: 3, chunks: 12 }, last_completion_latency_ms: 250.5 };
const INDEXING = {
  model: 'gemma-3-270m-q4_k_m.gguf',
  index: { state: 'indexing', done: 1, total: 4, percentage: 25, message: 'a.py' },
  last_completion_latency_ms: null,
};

/** A host whose status replies come from a queue and whose timers run only when told. */
class FakeHost implements StatusControllerHost {
  replies: Array<unknown> = [];
  requests = 0;
  renders: StatusSnapshot[] = [];
  logs: string[] = [];
  timers: Array<{ callback: () => void; delayMs: number; isDisposed: boolean; hasFired: boolean }> = [];

  async requestStatus(): Promise<unknown> {
    this.requests++;
    const reply = this.replies.shift();
    if (reply instanceof Error) {
      throw reply;
    }
    return reply;
  }

  render(snapshot: StatusSnapshot): void {
    this.renders.push(structuredClone(snapshot));
  }

  log(message: string): void {
    this.logs.push(message);
  }

  setTimer(callback: () => void, delayMs: number) {
    const timer = { callback, delayMs, isDisposed: false, hasFired: false };
    this.timers.push(timer);
    return { dispose: () => (timer.isDisposed = true) };
  }

  pendingTimers() {
    return this.timers.filter((timer) => !timer.isDisposed && !timer.hasFired);
  }

  /** Run the first pending timer, as its delay had passed. */
  fireTimer(): void {
    const timer = this.pendingTimers()[0];
    timer.hasFired = true;
    timer.callback();
  }

  last(): StatusSnapshot {
    return this.renders[this.renders.length - 1];
  }
}

/** Let every pending promise callback run; the fake host answers without timers. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('server status', () => {
  it('parseServerStatus reads each index state', () => {
    assert.deepStrictEqual(parseServerStatus(READY), {
      model: 'gemma-3-270m-q4_k_m.gguf',
      index: { state: 'ready', files: 3, chunks: 12 },
      lastCompletionLatencyMs: 250.5,
    });
    assert.deepStrictEqual(parseServerStatus(INDEXING)?.index, { state: 'indexing', done: 1, total: 4, percentage: 25, message: 'a.py' });
    assert.deepStrictEqual(parseServerStatus({ ...READY, index: { state: 'missing' } })?.index, { state: 'missing' });
    assert.deepStrictEqual(parseServerStatus({ ...READY, index: { state: 'invalid', message: 'format 1' } })?.index, {
      state: 'invalid',
      message: 'format 1',
    });
  });

  it('parseServerStatus rejects other shapes', () => {
    assert.strictEqual(parseServerStatus(null), null);
    assert.strictEqual(parseServerStatus({ ...READY, model: 3 }), null);
    assert.strictEqual(parseServerStatus({ ...READY, index: { state: 'ready', files: -1, chunks: 2 } }), null);
    assert.strictEqual(parseServerStatus({ ...READY, index: { state: 'unknown' } }), null);
    assert.strictEqual(parseServerStatus({ ...READY, last_completion_latency_ms: '5' }), null);
  });

  it('running server is asked and rendered', async () => {
    const host = new FakeHost();
    host.replies.push(READY);
    const controller = new StatusController(host, 'default model', true);

    await controller.setServerRunning(true);

    assert.strictEqual(host.requests, 1);
    assert.strictEqual(host.last().model, 'gemma-3-270m-q4_k_m.gguf');
    assert.deepStrictEqual(host.last().index, { state: 'ready', files: 3, chunks: 12 });
    assert.strictEqual(host.last().serverLatencyMs, 250.5);
    assert.strictEqual(host.pendingTimers().length, 0);
  });

  it('indexing server is polled until ready', async () => {
    const host = new FakeHost();
    host.replies.push(INDEXING, READY);
    const controller = new StatusController(host, 'default model', true);

    await controller.refresh();
    assert.deepStrictEqual(host.last().index?.state, 'indexing');
    assert.strictEqual(host.pendingTimers().length, 1);
    assert.strictEqual(host.pendingTimers()[0].delayMs, INDEXING_POLL_MS);

    host.fireTimer();
    await flush();
    assert.strictEqual(host.requests, 2);
    assert.deepStrictEqual(host.last().index, { state: 'ready', files: 3, chunks: 12 });
    assert.strictEqual(host.pendingTimers().length, 0);
  });

  it('index run started here polls before the server reports it', async () => {
    const host = new FakeHost();
    host.replies.push({ ...READY, index: { state: 'missing' } }, INDEXING, READY);
    const controller = new StatusController(host, 'default model', true);

    await controller.setIndexRunning(true);
    assert.deepStrictEqual(host.last().index, { state: 'missing' });
    assert.strictEqual(host.pendingTimers().length, 1, 'no poll while the run is not yet visible');

    host.fireTimer();
    await flush();
    assert.deepStrictEqual(host.last().index?.state, 'indexing');
    await controller.setIndexRunning(false);

    assert.deepStrictEqual(host.last().index, { state: 'ready', files: 3, chunks: 12 });
    assert.strictEqual(host.pendingTimers().length, 0);
  });

  it('completion records editor latency and refreshes', async () => {
    const host = new FakeHost();
    host.replies.push(READY);
    const controller = new StatusController(host, 'default model', true);

    await controller.recordCompletion(300.7);

    assert.strictEqual(host.last().clientLatencyMs, 300.7);
    assert.strictEqual(host.last().serverLatencyMs, 250.5);
  });

  it('refreshes while one is in flight run once more', async () => {
    const host = new FakeHost();
    host.replies.push(READY, READY, READY);
    const controller = new StatusController(host, 'default model', true);

    const first = controller.refresh();
    void controller.refresh();
    void controller.refresh();
    await first;

    assert.strictEqual(host.requests, 2);
  });

  it('failed requests log once and clear the index state', async () => {
    const host = new FakeHost();
    const failure = new Error('Unhandled method workspace/executeCommand');
    host.replies.push(READY, failure, failure);
    const controller = new StatusController(host, 'default model', true);

    await controller.refresh();
    await controller.refresh();
    await controller.refresh();

    assert.strictEqual(host.last().index, null);
    assert.strictEqual(host.logs.length, 1);
    assert.ok(host.logs[0].includes('ragcoder.status failed'), host.logs[0]);
  });

  it('dispose stops polling', async () => {
    const host = new FakeHost();
    host.replies.push(INDEXING);
    const controller = new StatusController(host, 'default model', true);

    await controller.refresh();
    controller.dispose();
    await controller.refresh();

    assert.strictEqual(host.pendingTimers().length, 0);
    assert.strictEqual(host.requests, 1);
  });
});
