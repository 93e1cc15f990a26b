/**
 * Middleware around the language client's `textDocument/inlineCompletion` feature: it
 * applies the suggestion rules, debounces, keeps mid-word suggestions only when they
 * continue the word, and measures the latency of each request.
 */

import * as vscode from 'vscode';

import { waitUnlessCancelled } from './debounce';
import { continueWord, shouldRequestCompletion, wordTail } from './suggestionRules';

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

/**
 * Keep the items that continue the word after a mid-word cursor, with their range widened
 * over the rest of the word, so the editor shows only the text after it.
 */
export function fitToWord(result: InlineResult, tail: string, position: vscode.Position): InlineResult {
  if (tail === '' || result === null || result === undefined) {
    return result;
  }
  const items = Array.isArray(result) ? result : result.items;
  const kept: vscode.InlineCompletionItem[] = [];
  for (const item of items) {
    if (typeof item.insertText !== 'string') {
      continue;
    }
    // An item whose range already reaches past the cursor replaces the word itself.
    if (item.range !== undefined && item.range.end.isAfter(position)) {
      kept.push(item);
      continue;
    }
    const fitted = continueWord(item.insertText, tail);
    if (fitted === null) {
      continue;
    }
    const start = item.range?.start ?? position;
    item.range = new vscode.Range(start, position.translate(0, fitted.replacedLength));
    kept.push(item);
  }
  if (kept.length === 0) {
    return null;
  }
  return Array.isArray(result) ? kept : new vscode.InlineCompletionList(kept);
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
      textBeforeCursor: document.getText().slice(0, document.offsetAt(position)),
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
    return fitToWord(result, wordTail(document.lineAt(position.line).text, position.character), position);
  };
}
