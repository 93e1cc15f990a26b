/**
 * A mocked `vscode` module for unit tests: `require('vscode')` resolves to it, because the
 * real module exists only inside the editor. It covers what the tested code touches:
 * cancellation tokens, trigger kinds and a settings store seeded from package.json defaults.
 */

import * as fs from 'fs';
import * as path from 'path';
import Module = require('module');

type Listener = () => void;

export class CancellationTokenSource {
  private listeners: Listener[] = [];
  private cancelled = false;
  readonly token: { readonly isCancellationRequested: boolean; onCancellationRequested(listener: Listener): { dispose(): void } };

  constructor() {
    const owner = this;
    this.token = {
      get isCancellationRequested(): boolean {
        return owner.cancelled;
      },
      onCancellationRequested(listener: Listener) {
        owner.listeners.push(listener);
        return { dispose: () => (owner.listeners = owner.listeners.filter((item) => item !== listener)) };
      },
    };
  }

  cancel(): void {
    this.cancelled = true;
    for (const listener of [...this.listeners]) {
      listener();
    }
  }

  listenerCount(): number {
    return this.listeners.length;
  }
}

export const InlineCompletionTriggerKind = { Invoke: 0, Automatic: 1 };

interface ConfigurationProperty {
  default?: unknown;
}

const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, ConfigurationProperty> = packageJson.contributes.configuration.properties;

/** User values per full key (`ragcoder.x`), as if written to the user's settings.json. */
export const userSettings = new Map<string, unknown>();

/** Return a `WorkspaceConfiguration` of one section, with package.json defaults and `userSettings` over them. */
export function getConfiguration(section: string) {
  const fullKey = (key: string) => `${section}.${key}`;
  return {
    get<T>(key: string): T | undefined {
      const name = fullKey(key);
      return (userSettings.has(name) ? userSettings.get(name) : properties[name]?.default) as T | undefined;
    },
    inspect<T>(key: string) {
      const name = fullKey(key);
      if (!(name in properties)) {
        return undefined;
      }
      return {
        key: name,
        defaultValue: properties[name].default as T,
        globalValue: userSettings.get(name) as T | undefined,
      };
    },
  };
}

export const workspace = { getConfiguration };

const mock = { CancellationTokenSource, InlineCompletionTriggerKind, workspace };

const moduleWithResolver = Module as unknown as {
  _resolveFilename(request: string, ...rest: unknown[]): string;
};
const resolveFilename = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? 'vscode' : resolveFilename.call(this, request, ...rest);
};
require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: mock } as unknown as NodeJS.Module;
