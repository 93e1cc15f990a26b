/** Entry point: starts `ragcoder serve` through the language client and wires the UI to it. */

import * as fs from 'fs';
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions, State } from 'vscode-languageclient/node';

import { registerCommands } from './commands';
import { createInlineMiddleware } from './inlineMiddleware';
import { findExecutable, INSTALL_COMMAND, missingServerMessage, resolveServerLaunch } from './serverLaunch';
import { initializationOptions, readClientSettings, SERVER_SETTING_KEYS } from './settings';
import { type IndexState, modelLabel, type StatusSnapshot, statusText, statusTooltip } from './statusText';

// TODO: read index.dir_name from the server once it reports it; a repository that sets
// another index folder shows "no index" here although it has one.
const INDEX_DIR_NAME = '.ragcoder';

const RESTART_SECTIONS = ['serverCommand', 'pythonPath', 'languages', ...Object.keys(SERVER_SETTING_KEYS)];

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
const status: StatusSnapshot = { model: '', indexState: 'unknown', lastLatencyMs: null, completionsEnabled: true, serverRunning: false };

function configuration(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('ragcoder');
}

function workspaceRoot(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

function refreshStatus(): void {
  const config = configuration();
  status.model = modelLabel(config.get<string>('modelPath') ?? '');
  status.completionsEnabled = readClientSettings(config).completionsEnabled;
  statusItem.text = statusText(status);
  statusItem.tooltip = statusTooltip(status);
}

function detectIndexState(): IndexState {
  const root = workspaceRoot();
  if (root === undefined || root.scheme !== 'file') {
    return 'unknown';
  }
  return fs.existsSync(vscode.Uri.joinPath(root, INDEX_DIR_NAME).fsPath) ? 'present' : 'missing';
}

function createClient(): LanguageClient | undefined {
  const config = configuration();
  const settings = readClientSettings(config);
  const launch = resolveServerLaunch(settings.serverCommand, settings.pythonPath);
  if (findExecutable(launch.command, process.env.PATH ?? '') === null) {
    const message = missingServerMessage(launch);
    output.error(message);
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Copy Install Command').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'ragcoder.');
      } else if (choice === 'Copy Install Command') {
        void vscode.env.clipboard.writeText(INSTALL_COMMAND);
      }
    });
    return undefined;
  }

  const root = workspaceRoot();
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    // No `transport`: with TransportKind.stdio the client appends `--stdio` to the
    // arguments, which `ragcoder serve` rejects. Without it, the client still talks over stdio.
    options: root?.scheme === 'file' ? { cwd: root.fsPath } : undefined,
  };
  const inlineMiddleware = createInlineMiddleware({
    isEnabled: () => readClientSettings(configuration()).completionsEnabled,
    debounceMs: () => readClientSettings(configuration()).debounceMs,
    inCommentsAndStrings: () => readClientSettings(configuration()).inCommentsAndStrings,
    onLatency: (latencyMs) => {
      status.lastLatencyMs = latencyMs;
      refreshStatus();
    },
  });
  const clientOptions: LanguageClientOptions = {
    documentSelector: settings.languages.map((language) => ({ scheme: 'file', language })),
    initializationOptions: initializationOptions(config),
    outputChannel: output,
    middleware: {
      provideInlineCompletionItems: inlineMiddleware,
      // The server computes completion items with the same model call as ghost text, and
      // it cancels a document's older request when a newer one arrives. Both requests per
      // keystroke would cancel each other, so VS Code gets ghost text only.
      provideCompletionItem: () => undefined,
    },
  };
  output.info(`starting ${launch.command} ${launch.args.join(' ')}`);
  const created = new LanguageClient('ragcoder', 'ragcoder', serverOptions, clientOptions);
  // The client restarts a crashed server a few times on its own, so the status follows its state.
  created.onDidChangeState((event) => {
    status.serverRunning = event.newState === State.Running;
    refreshStatus();
  });
  return created;
}

async function startClient(): Promise<void> {
  client = createClient();
  if (client === undefined) {
    status.serverRunning = false;
    refreshStatus();
    return;
  }
  try {
    await client.start();
    status.serverRunning = true;
  } catch (error) {
    status.serverRunning = false;
    output.error(`the language server failed to start: ${String(error)}`);
    void vscode.window.showErrorMessage(`ragcoder: the language server failed to start (${String(error)}); see the "ragcoder" output channel.`);
  }
  refreshStatus();
}

async function restartClient(): Promise<void> {
  const previous = client;
  client = undefined;
  if (previous !== undefined) {
    await previous.stop().catch((error: unknown) => output.warn(`stopping the language server failed: ${String(error)}`));
  }
  await startClient();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('ragcoder', { log: true });
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = 'ragcoder.toggleCompletions';
  statusItem.show();
  status.indexState = detectIndexState();
  context.subscriptions.push(output, statusItem);

  registerCommands(context, {
    client: () => client,
    workspaceRoot,
    onIndexing: (isRunning, isSucceeded) => {
      if (isRunning) {
        status.indexState = 'indexing';
      } else {
        status.indexState = isSucceeded ? 'present' : 'failed';
      }
      refreshStatus();
    },
  });
  context.subscriptions.push(
    vscode.commands.registerCommand('ragcoder.restartServer', () => restartClient()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SECTIONS.some((section) => event.affectsConfiguration(`ragcoder.${section}`))) {
        void restartClient();
      } else if (event.affectsConfiguration('ragcoder')) {
        refreshStatus();
      }
    }),
  );

  await startClient();
}

export async function deactivate(): Promise<void> {
  if (client !== undefined) {
    await client.stop();
  }
}
