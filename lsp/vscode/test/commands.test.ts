import * as assert from 'assert';
import * as vscode from 'vscode';

import { ACCEPT_COMMANDS, registerCommands } from '../src/commands';
import { executedCommands, registeredCommands, settingUpdates, shownMessages, userSettings } from './vscodeMock';

function register(): void {
  const context = { subscriptions: [] as { dispose(): unknown }[] } as unknown as vscode.ExtensionContext;
  registerCommands(context, { client: () => undefined, workspaceRoot: () => undefined, onIndexing: () => undefined });
}

describe('commands', () => {
  beforeEach(() => {
    registeredCommands.clear();
    executedCommands.length = 0;
    settingUpdates.length = 0;
    shownMessages.length = 0;
    userSettings.clear();
    register();
  });

  it('toggleCompletions turns completions off then on', async () => {
    await registeredCommands.get('ragcoder.toggleCompletions')?.();
    assert.strictEqual(userSettings.get('ragcoder.completions.enabled'), false);

    await registeredCommands.get('ragcoder.toggleCompletions')?.();
    assert.strictEqual(userSettings.get('ragcoder.completions.enabled'), true);

    assert.deepStrictEqual(
      settingUpdates.map((update) => update.target),
      [vscode.ConfigurationTarget.Global, vscode.ConfigurationTarget.Global],
    );
    assert.deepStrictEqual(shownMessages, ['status: ragcoder: inline completions off', 'status: ragcoder: inline completions on']);
  });

  it('accept commands run the built-in inline suggestion commands', async () => {
    const cases: Array<[string, string]> = [
      ['ragcoder.acceptSuggestion', 'editor.action.inlineSuggest.commit'],
      ['ragcoder.acceptNextWord', 'editor.action.inlineSuggest.acceptNextWord'],
      ['ragcoder.acceptNextLine', 'editor.action.inlineSuggest.acceptNextLine'],
    ];
    for (const [command, builtIn] of cases) {
      executedCommands.length = 0;
      await registeredCommands.get(command)?.();
      assert.deepStrictEqual(executedCommands, [{ command: builtIn, args: [] }], command);
    }
    assert.strictEqual(Object.keys(ACCEPT_COMMANDS).length, cases.length);
  });

  it('server commands without a running server show an error', async () => {
    await registeredCommands.get('ragcoder.reindexWorkspace')?.();

    assert.strictEqual(shownMessages.length, 1);
    assert.ok(shownMessages[0].startsWith('error: ragcoder: the language server is not running'), shownMessages[0]);
  });
});
