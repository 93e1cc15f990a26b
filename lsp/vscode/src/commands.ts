/** The extension's commands: ask, explain selection, reindex, toggle completions, accept suggestions. */

import * as crypto from 'crypto';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';

import { type AnswerResult, renderAnswerHtml } from './answerHtml';
import { explainArguments } from './selection';

/**
 * The LSP method, named as a string: importing the request type would load the language
 * client at import time, and with it the editor API, which the unit tests replace.
 */
export const EXECUTE_COMMAND = 'workspace/executeCommand';

/** Server commands, as registered by the server's `workspace/executeCommand` handlers. */
export const SERVER_ASK = 'ragcoder.ask';
export const SERVER_EXPLAIN = 'ragcoder.explain';
export const SERVER_REINDEX = 'ragcoder.reindex';

/**
 * Commands that accept all or part of the visible inline suggestion, and the built-in
 * commands they run. Accepting works the same for any inline suggestion provider, so these
 * exist to give the actions a ragcoder name in the command palette and a key for the next line.
 */
export const ACCEPT_COMMANDS: Readonly<Record<string, string>> = {
  'ragcoder.acceptSuggestion': 'editor.action.inlineSuggest.commit',
  'ragcoder.acceptNextWord': 'editor.action.inlineSuggest.acceptNextWord',
  'ragcoder.acceptNextLine': 'editor.action.inlineSuggest.acceptNextLine',
};

/** Callbacks into the running extension that the commands use. */
export interface CommandHost {
  client(): LanguageClient | undefined;
  workspaceRoot(): vscode.Uri | undefined;
  onIndexing(isRunning: boolean): void;
}

/** Run a server command with a cancellable progress notification; undefined when cancelled. */
async function runServerCommand<T>(host: CommandHost, title: string, command: string, args: unknown[]): Promise<T | null | undefined> {
  const client = host.client();
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showErrorMessage('ragcoder: the language server is not running. See the "ragcoder" output channel, or run "ragcoder: Restart Language Server".');
    return undefined;
  }
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (_progress, token) => {
      try {
        return (await client.sendRequest(EXECUTE_COMMAND, { command, arguments: args }, token)) as T | null;
      } catch (error) {
        if (token.isCancellationRequested) {
          return undefined;
        }
        throw error;
      }
    },
  );
}

function showAnswer(host: CommandHost, title: string, result: AnswerResult | null | undefined): void {
  if (result === undefined) {
    return;
  }
  if (result === null) {
    void vscode.window.showWarningMessage(
      'ragcoder returned no answer. Index the workspace with "ragcoder: Reindex Workspace" and check the "ragcoder" output channel.',
    );
    return;
  }

  const panel = vscode.window.createWebviewPanel('ragcoder.answer', title, vscode.ViewColumn.Beside, { enableScripts: true });
  panel.webview.html = renderAnswerHtml(title, result, crypto.randomBytes(16).toString('hex'));
  panel.webview.onDidReceiveMessage(async (message: { type?: string; index?: number }) => {
    const source = message.type === 'open' && typeof message.index === 'number' ? result.sources[message.index] : undefined;
    const root = host.workspaceRoot();
    if (source === undefined || root === undefined) {
      return;
    }
    const uri = path.isAbsolute(source.path) ? vscode.Uri.file(source.path) : vscode.Uri.joinPath(root, source.path);
    // Sources carry 1-based lines and VS Code ranges are 0-based.
    const range = new vscode.Range(Math.max(0, source.start_line - 1), 0, Math.max(0, source.end_line - 1), 0);
    await vscode.window.showTextDocument(uri, { selection: range, viewColumn: vscode.ViewColumn.One });
  });
}

async function ask(host: CommandHost): Promise<void> {
  const question = await vscode.window.showInputBox({ prompt: 'Ask ragcoder about this workspace', ignoreFocusOut: true });
  if (question === undefined || question.trim() === '') {
    return;
  }
  const result = await runServerCommand<AnswerResult>(host, 'ragcoder: answering…', SERVER_ASK, [question]);
  showAnswer(host, `ragcoder: ${question}`, result);
}

async function explain(host: CommandHost): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const client = host.client();
  if (editor === undefined || client === undefined) {
    void vscode.window.showInformationMessage('ragcoder: open a file and select the code to explain.');
    return;
  }
  const args = explainArguments(client.code2ProtocolConverter.asUri(editor.document.uri), editor.selection);
  const result = await runServerCommand<AnswerResult>(host, 'ragcoder: explaining…', SERVER_EXPLAIN, args);
  const name = path.basename(editor.document.uri.fsPath);
  showAnswer(host, `ragcoder: ${name} lines ${args[1] + 1}-${args[2] + 1}`, result);
}

interface IndexSummary {
  files_indexed: number;
  files_unchanged: number;
  files_removed: number;
  files_skipped: number;
  chunks_total: number;
  seconds: number;
}

async function reindex(host: CommandHost): Promise<void> {
  host.onIndexing(true);
  let summary: IndexSummary | null | undefined;
  try {
    // The server reports `$/progress` itself, which the client shows as a notification.
    summary = await runServerCommand<IndexSummary>(host, 'ragcoder: reindex requested', SERVER_REINDEX, []);
  } finally {
    host.onIndexing(false);
  }
  if (summary === null) {
    void vscode.window.showWarningMessage('ragcoder: indexing failed, or no workspace folder is open. See the "ragcoder" output channel.');
  } else if (summary !== undefined) {
    void vscode.window.showInformationMessage(
      `ragcoder: indexed ${summary.files_indexed} files (${summary.files_unchanged} unchanged, ` +
        `${summary.files_skipped} skipped), ${summary.chunks_total} chunks in ${summary.seconds.toFixed(1)} s.`,
    );
  }
}

async function toggleCompletions(): Promise<void> {
  const config = vscode.workspace.getConfiguration('ragcoder');
  const values = config.inspect<boolean>('completions.enabled');
  const isEnabled = config.get<boolean>('completions.enabled') ?? true;
  // Write where the current value comes from, so the change is not shadowed by a workspace value.
  const target = values?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update('completions.enabled', !isEnabled, target);
  void vscode.window.setStatusBarMessage(`ragcoder: inline completions ${isEnabled ? 'off' : 'on'}`, 3000);
}

/** Register the contributed commands. */
export function registerCommands(context: vscode.ExtensionContext, host: CommandHost): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ragcoder.askQuestion', () => ask(host)),
    vscode.commands.registerCommand('ragcoder.explainSelection', () => explain(host)),
    vscode.commands.registerCommand('ragcoder.reindexWorkspace', () => reindex(host)),
    vscode.commands.registerCommand('ragcoder.toggleCompletions', () => toggleCompletions()),
    ...Object.entries(ACCEPT_COMMANDS).map(([command, builtIn]) =>
      vscode.commands.registerCommand(command, () => vscode.commands.executeCommand(builtIn)),
    ),
  );
}
