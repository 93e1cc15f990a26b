import * as assert from 'assert';
import * as vscode from 'vscode';

import { waitUnlessCancelled } from '../src/debounce';

describe('waitUnlessCancelled', () => {
  it('uncancelled wait resolves true', async () => {
    const source = new vscode.CancellationTokenSource();

    assert.strictEqual(await waitUnlessCancelled(5, source.token), true);
  });

  it('cancel during wait resolves false', async () => {
    const source = new vscode.CancellationTokenSource();
    const waiting = waitUnlessCancelled(10_000, source.token);

    source.cancel();

    assert.strictEqual(await waiting, false);
  });

  it('already cancelled token resolves false', async () => {
    const source = new vscode.CancellationTokenSource();
    source.cancel();

    assert.strictEqual(await waitUnlessCancelled(5, source.token), false);
  });

  it('finished wait removes its listener', async () => {
    const source = new vscode.CancellationTokenSource() as vscode.CancellationTokenSource & { listenerCount(): number };

    await waitUnlessCancelled(1, source.token);

    assert.strictEqual(source.listenerCount(), 0);
  });
});
