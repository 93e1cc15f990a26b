import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

import { initializationOptions, readClientSettings, SERVER_SETTING_KEYS } from '../src/settings';
import { userSettings } from './vscodeMock';

const REPOSITORY_ROOT = path.join(__dirname, '..', '..', '..', '..');

/** Read a default from a dataclass of assistant/config.py, e.g. ("CompletionSettings", "debounce_ms"). */
function pythonDefault(className: string, field: string): string {
  const source = fs.readFileSync(path.join(REPOSITORY_ROOT, 'assistant', 'config.py'), 'utf8');
  const classBody = source.split(`class ${className}:`)[1].split('\nclass ')[0];
  const match = new RegExp(`^\\s+${field}: \\w+ = (.+)$`, 'm').exec(classBody);
  assert.ok(match, `${className}.${field} not found in assistant/config.py`);
  return match[1].trim();
}

describe('settings', () => {
  afterEach(() => userSettings.clear());

  it('readClientSettings at defaults returns package.json values', () => {
    const settings = readClientSettings(vscode.workspace.getConfiguration('ragcoder'));

    assert.strictEqual(settings.completionsEnabled, true);
    assert.strictEqual(settings.debounceMs, 100);
    assert.strictEqual(settings.inCommentsAndStrings, false);
    assert.deepStrictEqual(settings.serverCommand, []);
    assert.strictEqual(settings.pythonPath, '');
    assert.ok(settings.languages.includes('python'));
  });

  it('readClientSettings with negative debounce clamps to zero', () => {
    userSettings.set('ragcoder.completions.debounceMs', -5);

    assert.strictEqual(readClientSettings(vscode.workspace.getConfiguration('ragcoder')).debounceMs, 0);
  });

  it('initializationOptions at defaults sends nothing', () => {
    assert.deepStrictEqual(initializationOptions(vscode.workspace.getConfiguration('ragcoder')), {});
  });

  it('initializationOptions with user values builds nested tree', () => {
    userSettings.set('ragcoder.modelPath', '/models/coder.gguf');
    userSettings.set('ragcoder.completions.maxTokens', 32);
    userSettings.set('ragcoder.completions.contextTokens', 256);
    userSettings.set('ragcoder.completions.debounceMs', 150);
    userSettings.set('ragcoder.ask.contextTokens', 2000);
    userSettings.set('ragcoder.completions.enabled', false);

    assert.deepStrictEqual(initializationOptions(vscode.workspace.getConfiguration('ragcoder')), {
      model: { path: '/models/coder.gguf' },
      completion: { max_tokens: 32, context_tokens: 256, debounce_ms: 150 },
      ask: { context_tokens: 2000 },
    });
  });

  it('initializationOptions with a value equal to the default still sends it', () => {
    userSettings.set('ragcoder.completions.maxTokens', 64);

    assert.deepStrictEqual(initializationOptions(vscode.workspace.getConfiguration('ragcoder')), {
      completion: { max_tokens: 64 },
    });
  });

  it('server setting keys all exist in package.json', () => {
    const configuration = vscode.workspace.getConfiguration('ragcoder');
    for (const section of Object.keys(SERVER_SETTING_KEYS)) {
      assert.notStrictEqual(configuration.inspect(section), undefined, `ragcoder.${section} is not contributed`);
    }
  });

  it('package.json defaults match assistant/config.py', () => {
    const configuration = vscode.workspace.getConfiguration('ragcoder');
    const cases: Array<[string, string, string]> = [
      ['completions.debounceMs', 'CompletionSettings', 'debounce_ms'],
      ['completions.maxTokens', 'CompletionSettings', 'max_tokens'],
      ['completions.contextTokens', 'CompletionSettings', 'context_tokens'],
      ['ask.contextTokens', 'AskSettings', 'context_tokens'],
      ['modelPath', 'ModelSettings', 'path'],
    ];
    for (const [section, className, field] of cases) {
      const expected = pythonDefault(className, field);
      assert.strictEqual(JSON.stringify(configuration.get(section)), expected, `ragcoder.${section}`);
    }
  });
});
