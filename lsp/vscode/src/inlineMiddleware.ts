/**
 * Middleware around the language client's `textDocument/inlineCompletion` feature: it
 * applies the suggestion rules, debounces, and measures the latency of each request.
 */

import type * as vscode from 'vscode';

import { waitUnlessCancelled } from './debounce';
import { shouldRequestCompletion } from './suggestionRules';

type InlineResult = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

type NextProvider = (
  document: vscode.TextDocument,
  position: vscode.Position,
  context: vscode.InlineCompletionContext,
  token: vscode.CancellationToken,
) => vscode.ProviderResult<vscode.InlineCompletionItem[] | vscode.InlineCompletionList>;

/** Settings and callbacks the middleware reads on every request. */
export interface InlineMiddlewareOptions {
  isEnabled(): boolean;
  debounceMs(): number;
  inCommentsAndStrings(): boolean;
  onLatency(latencyMs: number): void;
  now?(): number;
}

/** Build `provideInlineCompletionItems` for the client's `middleware` option. */
export function createInlineMiddleware(options: InlineMiddlewareOptions) {
  const now = options.now ?? (() => performance.now());

  return async function provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
    next: NextProvider,
  ): Promise<InlineResult> {
    const isRequested = shouldRequestCompletion({
      lineText: document.lineAt(position.line).text,
      column: position.character,
      languageId: document.languageId,
      isEnabled: options.isEnabled(),
      inCommentsAndStrings: options.inCommentsAndStrings(),
    });
    if (!isRequested) {
      return null;
    }

    // An explicit trigger (the "Trigger Inline Suggestion" command, kind 0) skips the wait.
    const delayMs = context.triggerKind === 0 ? 0 : options.debounceMs();
    if (!(await waitUnlessCancelled(delayMs, token))) {
      return null;
    }

    const startMs = now();
    const result = await next(document, position, context, token);
    if (token.isCancellationRequested) {
      return null;
    }
    options.onLatency(now() - startMs);
    return result;
  };
}
