import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

import { registerCommands } from '../src/commands';
import { SERVER_SETTING_KEYS } from '../src/settings';
import { registeredCommands } from './vscodeMock';

const EXTENSION_ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package-lock.json'), 'utf8'));

interface Property {
  type?: string;
  default?: unknown;
  description?: string;
  markdownDescription?: string;
}

const properties: Record<string, Property> = manifest.contributes.configuration.properties;

describe('package.json manifest', () => {
  it('has the fields the Marketplace and Open VSX require', () => {
    assert.match(manifest.name, /^[a-z0-9][a-z0-9-]*$/);
    assert.match(manifest.publisher, /^[a-z0-9][a-z0-9-]*$/i);
    assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
    assert.strictEqual(manifest.license, 'Apache-2.0');
    assert.ok(manifest.displayName.length > 0);
    assert.ok(manifest.description.length > 0);
    assert.ok(Array.isArray(manifest.categories) && manifest.categories.length > 0);
    assert.strictEqual(manifest.main, './out/src/extension.js');
  });

  it('engines.vscode matches the @types/vscode version', () => {
    const engine = /^\^(\d+\.\d+)\.\d+$/.exec(manifest.engines.vscode);
    assert.ok(engine, manifest.engines.vscode);
    const typesVersion: string = lock.packages['node_modules/@types/vscode'].version;
    assert.ok(typesVersion.startsWith(`${engine[1]}.`), `@types/vscode ${typesVersion} is newer than engines.vscode ${manifest.engines.vscode}`);
  });

  it('activates on every default language', () => {
    const languages: string[] = properties['ragcoder.languages'].default as string[];
    for (const language of languages) {
      assert.ok(manifest.activationEvents.includes(`onLanguage:${language}`), language);
    }
  });

  it('every contributed command is registered', () => {
    registeredCommands.clear();
    const context = { subscriptions: [] } as unknown as vscode.ExtensionContext;
    registerCommands(context, { client: () => undefined, workspaceRoot: () => undefined, onIndexing: () => undefined });
    // The extension's entry point registers this one itself.
    registeredCommands.set('ragcoder.restartServer', () => undefined);

    for (const command of manifest.contributes.commands) {
      assert.ok(registeredCommands.has(command.command), `${command.command} is contributed but never registered`);
      assert.ok(command.title.length > 0);
      assert.strictEqual(command.category, 'ragcoder');
    }
  });

  it('accept-next-line key works only with a visible suggestion', () => {
    const bindings = manifest.contributes.keybindings.filter((binding: { command: string }) => binding.command === 'ragcoder.acceptNextLine');

    assert.strictEqual(bindings.length, 1);
    assert.strictEqual(bindings[0].key, 'ctrl+down');
    assert.strictEqual(bindings[0].mac, 'cmd+down');
    assert.match(bindings[0].when, /\binlineSuggestionVisible\b/);
    assert.match(bindings[0].when, /\beditorTextFocus\b/);
  });

  it('every setting has a type, a default and a description', () => {
    for (const [key, property] of Object.entries(properties)) {
      assert.ok(property.type, `${key} has no type`);
      assert.ok('default' in property, `${key} has no default`);
      assert.ok((property.description ?? property.markdownDescription ?? '').length > 20, `${key} has no description`);
    }
  });

  it('numeric settings name their unit', () => {
    const units: Record<string, string> = {
      'ragcoder.completions.debounceMs': 'milliseconds',
      'ragcoder.completions.maxTokens': 'tokens',
      'ragcoder.completions.contextTokens': 'tokens',
      'ragcoder.ask.contextTokens': 'tokens',
    };
    for (const [key, unit] of Object.entries(units)) {
      const text = properties[key].description ?? properties[key].markdownDescription ?? '';
      assert.ok(text.includes(unit), `${key} does not say ${unit}`);
    }
    for (const [key, property] of Object.entries(properties)) {
      if (property.type === 'integer' || property.type === 'number') {
        assert.ok(key in units, `${key} is numeric but has no unit check`);
      }
    }
  });

  it('settings sent to the server are contributed', () => {
    for (const section of Object.keys(SERVER_SETTING_KEYS)) {
      assert.ok(`ragcoder.${section}` in properties, section);
    }
  });

  it('untrusted workspaces cannot change the server command', () => {
    const untrusted = manifest.capabilities.untrustedWorkspaces;

    assert.strictEqual(untrusted.supported, 'limited');
    for (const key of ['ragcoder.serverCommand', 'ragcoder.pythonPath', 'ragcoder.modelPath']) {
      assert.ok(untrusted.restrictedConfigurations.includes(key), key);
    }
  });
});
