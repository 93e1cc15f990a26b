/**
 * Smoke run of the built extension against the real `ragcoder serve`: activate, request an
 * inline completion, reindex, ask. Run with `npm run smoke`; it needs ragcoder on PATH (or
 * RAGCODER_SERVER_COMMAND, a JSON array) and loads the real model, so `npm test` leaves it out.
 */

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as mock from './smokeVscode';

const REQUEST_TIMEOUT_MS = 300_000;

const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const defaults: Record<string, { default?: unknown }> = packageJson.contributes.configuration.properties;
const userSettings: Record<string, unknown> = {};
if (process.env.RAGCODER_SERVER_COMMAND) {
  userSettings['ragcoder.serverCommand'] = JSON.parse(process.env.RAGCODER_SERVER_COMMAND);
}

const workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ragcoder-vscode-smoke-'));
const sourceText = 'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n\n\ndef subtract(a, b):\n    ';
fs.writeFileSync(path.join(workspaceDir, 'calc.py'), sourceText);
fs.writeFileSync(path.join(workspaceDir, '.ragcoder.toml'), '[model]\nn_threads = 1\n\n[embedding]\nn_threads = 1\n');
const workspaceUri = mock.Uri.file(workspaceDir);

const events = {
  open: new mock.EventEmitter<unknown>(),
  configuration: new mock.EventEmitter<unknown>(),
};
const messages: string[] = [];
const commands = new Map<string, (...args: unknown[]) => unknown>();
const inlineProviders: { provideInlineCompletionItems: (...args: unknown[]) => Promise<unknown> }[] = [];
const statusItem: { text: string; tooltip: string } = { text: '', tooltip: '' };
const panels: { html: string }[] = [];

function configuration(section: string) {
  return {
    get: <T>(key: string, fallback?: T): T | undefined => {
      const name = `${section}.${key}`;
      return (name in userSettings ? userSettings[name] : defaults[name]?.default ?? fallback) as T | undefined;
    },
    inspect: (key: string) => ({ key, globalValue: userSettings[`${section}.${key}`] }),
    has: () => false,
    update: async () => undefined,
  };
}

function record(kind: string) {
  return async (message: string) => {
    messages.push(`${kind}: ${message}`);
    console.log(`[${kind}] ${message}`);
    return undefined;
  };
}

const logChannel = mock.withFallback({
  logLevel: 2,
  onDidChangeLogLevel: new mock.EventEmitter<unknown>().event,
  info: (text: string) => console.log(`[log] ${text}`),
  warn: (text: string) => console.log(`[log warn] ${text}`),
  error: (text: string) => console.log(`[log error] ${text}`),
  debug: () => undefined,
  trace: () => undefined,
  append: (text: string) => process.stdout.write(text),
  appendLine: (text: string) => console.log(`[log] ${text}`),
});

const vscodeModule = mock.withFallback({
  ...mock,
  version: '1.91.0',
  env: mock.withFallback({ appName: 'ragcoder smoke run', language: 'en' }),
  workspace: mock.withFallback({
    workspaceFolders: [{ uri: workspaceUri, name: 'smoke', index: 0 }],
    textDocuments: [] as unknown[],
    notebookDocuments: [],
    getConfiguration: configuration,
    onDidOpenTextDocument: events.open.event,
    onDidChangeConfiguration: events.configuration.event,
  }),
  window: mock.withFallback({
    createOutputChannel: () => logChannel,
    createStatusBarItem: () => mock.withFallback(Object.assign(statusItem, { show: () => undefined })),
    showErrorMessage: record('error'),
    showWarningMessage: record('warning'),
    showInformationMessage: record('info'),
    setStatusBarMessage: record('status'),
    showInputBox: async () => 'What does add return?',
    withProgress: async (_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
      task({ report: () => undefined }, new mock.CancellationTokenSource().token),
    createWebviewPanel: () => {
      const panel = { html: '' };
      panels.push(panel);
      return mock.withFallback({
        webview: mock.withFallback({
          set html(value: string) {
            panel.html = value;
          },
          onDidReceiveMessage: () => new mock.Disposable(),
        }),
      });
    },
    visibleTextEditors: [],
    activeTextEditor: undefined,
    tabGroups: mock.withFallback({ all: [] }),
  }),
  languages: mock.withFallback({
    match: (selector: { language?: string }[], document: { languageId: string }) =>
      selector.some((filter) => filter.language === document.languageId) ? 10 : 0,
    registerInlineCompletionItemProvider: (_selector: unknown, provider: (typeof inlineProviders)[number]) => {
      inlineProviders.push(provider);
      return new mock.Disposable();
    },
  }),
  commands: mock.withFallback({
    registerCommand: (id: string, callback: (...args: unknown[]) => unknown) => {
      commands.set(id, callback);
      return new mock.Disposable(() => commands.delete(id));
    },
    executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)?.(...args),
  }),
});
mock.installVscodeModule(vscodeModule);

function textDocument(fileName: string, text: string) {
  const lines = text.split('\n');
  return {
    uri: mock.Uri.file(fileName),
    fileName,
    languageId: 'python',
    version: 1,
    isClosed: false,
    isUntitled: false,
    lineCount: lines.length,
    getText: () => text,
    lineAt: (line: number) => ({ text: lines[line] }),
    offsetAt: (at: { line: number; character: number }) =>
      lines.slice(0, at.line).reduce((sum, line) => sum + line.length + 1, 0) + at.character,
  };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const extension = require('../../src/extension');
  await extension.activate({ subscriptions: [] });
  // The model name comes from the server's ragcoder.status reply.
  await waitFor(() => statusItem.text.includes('gemma') && statusItem.text.includes('no index'), 'the server to report its status');
  console.log(`status after start: ${statusItem.text}`);

  const document = textDocument(path.join(workspaceDir, 'calc.py'), sourceText);
  (vscodeModule.workspace.textDocuments as unknown[]).push(document);
  events.open.fire(document);
  assert.strictEqual(inlineProviders.length, 1, 'the client registered no inline completion provider');

  const lastLine = sourceText.split('\n').length - 1;
  const started = Date.now();
  const completion = (await inlineProviders[0].provideInlineCompletionItems(
    document,
    new mock.Position(lastLine, 4),
    { triggerKind: 1, selectedCompletionInfo: undefined },
    new mock.CancellationTokenSource().token,
  )) as { items: { insertText: string }[] } | mock.InlineCompletionItem[] | null;
  const items = Array.isArray(completion) ? completion : completion?.items ?? [];
  console.log(`inline completion in ${Date.now() - started} ms: ${JSON.stringify(items.map((item) => item.insertText))}`);
  console.log(`status after completion: ${statusItem.text}`);
  assert.ok(items.length > 0, 'inline completion returned no items');
  assert.notStrictEqual(items[0].insertText.trim(), '', 'inline completion returned blank text');
  await waitFor(() => / ms$/.test(statusItem.text) && statusItem.tooltip.includes('in the server'), 'the server latency in the status');

  await commands.get('ragcoder.reindexWorkspace')?.();
  assert.ok(messages.some((message) => message.startsWith('info: ragcoder: indexed')), 'reindex reported no summary');
  await waitFor(() => statusItem.text.includes('1 file indexed'), 'the index state in the status');
  console.log(`status after reindex: ${statusItem.text}`);

  await commands.get('ragcoder.askQuestion')?.();
  assert.strictEqual(panels.length, 1, 'ask opened no answer panel');
  assert.match(panels[0].html, /data-index="0"/);
  console.log(`answer panel: ${panels[0].html.length} characters, ${(panels[0].html.match(/data-index=/g) ?? []).length} source links`);

  await extension.deactivate();
  fs.rmSync(workspaceDir, { recursive: true, force: true });
  console.log('smoke run passed');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
