/** Entry point: starts `ragcoder serve` through the language client and wires the UI to it. */

import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions, State } from 'vscode-languageclient/node';

import { EXECUTE_COMMAND, registerCommands } from './commands';
import { createInlineMiddleware } from './inlineMiddleware';
import { SERVER_STATUS, StatusController } from './serverStatus';
import { findExecutable, INSTALL_COMMAND, missingServerMessage, resolveServerLaunch } from './serverLaunch';
import { initializationOptions, readClientSettings, SERVER_SETTING_KEYS } from './settings';
import { modelLabel, type StatusSnapshot, statusText, statusTooltip } from './statusText';

const RESTART_SECTIONS = ['serverCommand', 'pythonPath', 'languages', ...Object.keys(SERVER_SETTING_KEYS)];

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
let status: StatusController;

function configuration(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('ragcoder');
}

function workspaceRoot(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

function renderStatus(snapshot: StatusSnapshot): void {
  statusItem.text = statusText(snapshot);
  statusItem.tooltip = statusTooltip(snapshot);
}

async function requestServerStatus(): Promise<unknown> {
  if (client === undefined || !client.isRunning()) {
    throw new Error('the language server is not running');
  }
  return client.sendRequest(EXECUTE_COMMAND, { command: SERVER_STATUS, arguments: [] });
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
    onLatency: (latencyMs) => void status.recordCompletion(latencyMs),
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
  created.onDidChangeState((event) => void status.setServerRunning(event.newState === State.Running));
  return created;
}

async function startClient(): Promise<void> {
  client = createClient();
  if (client === undefined) {
    void status.setServerRunning(false);
    return;
  }
  try {
    await client.start();
    void status.setServerRunning(true);
  } catch (error) {
    void status.setServerRunning(false);
    output.error(`the language server failed to start: ${String(error)}`);
    void vscode.window.showErrorMessage(`ragcoder: the language server failed to start (${String(error)}); see the "ragcoder" output channel.`);
  }
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
  const config = configuration();
  status = new StatusController(
    {
      requestStatus: requestServerStatus,
      render: renderStatus,
      log: (message) => output.warn(message),
      setTimer: (callback, delayMs) => {
        const timer = setTimeout(callback, delayMs);
        return { dispose: () => clearTimeout(timer) };
      },
    },
    modelLabel(config.get<string>('modelPath') ?? ''),
    readClientSettings(config).completionsEnabled,
  );
  context.subscriptions.push(output, statusItem, status);

  registerCommands(context, {
    client: () => client,
    workspaceRoot,
    onIndexing: (isRunning) => void status.setIndexRunning(isRunning),
  });
  context.subscriptions.push(
    vscode.commands.registerCommand('ragcoder.restartServer', () => restartClient()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SECTIONS.some((section) => event.affectsConfiguration(`ragcoder.${section}`))) {
        void restartClient();
      } else if (event.affectsConfiguration('ragcoder')) {
        status.setCompletionsEnabled(readClientSettings(configuration()).completionsEnabled);
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
