/** Debouncing of completion requests against the editor's cancellation token. */

/** The part of `vscode.CancellationToken` that debouncing uses. */
export interface CancellationTokenLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/**
 * Wait `delayMs`, and resolve true when the token was not cancelled meanwhile.
 *
 * VS Code cancels the token of an inline completion request when the user types again,
 * so only the last request of a burst of keystrokes outlives its wait and reaches the
 * server. A cancelled wait resolves false at once instead of holding a timer.
 */
export function waitUnlessCancelled(delayMs: number, token: CancellationTokenLike): Promise<boolean> {
  if (token.isCancellationRequested) {
    return Promise.resolve(false);
  }
  if (delayMs <= 0) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const subscription = token.onCancellationRequested(() => {
      clearTimeout(timer);
      subscription.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      subscription.dispose();
      resolve(!token.isCancellationRequested);
    }, delayMs);
  });
}
