/**
 * A mocked `vscode` module for unit tests: `require('vscode')` resolves to it, because the
 * real module exists only inside the editor. It covers what the tested code touches:
 * cancellation tokens, trigger kinds, positions and ranges, inline completion lists,
 * command registration and execution, and a settings store seeded from package.json defaults.
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

export class Position {
  constructor(readonly line: number, readonly character: number) {}

  isAfter(other: Position): boolean {
    return this.line > other.line || (this.line === other.line && this.character > other.character);
  }

  translate(lineDelta = 0, characterDelta = 0): Position {
    return new Position(this.line + lineDelta, this.character + characterDelta);
  }
}

export class Range {
  constructor(readonly start: Position, readonly end: Position) {}
}

export class InlineCompletionList {
  constructor(readonly items: unknown[]) {}
}

export const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 };

/** Handlers registered with `commands.registerCommand`, by command id. */
export const registeredCommands = new Map<string, (...args: unknown[]) => unknown>();

/** Calls of `commands.executeCommand`, in order. */
export const executedCommands: Array<{ command: string; args: unknown[] }> = [];

export const commands = {
  registerCommand(command: string, handler: (...args: unknown[]) => unknown) {
    registeredCommands.set(command, handler);
    return { dispose: () => registeredCommands.delete(command) };
  },
  async executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    executedCommands.push({ command, args });
    return undefined;
  },
};

/** Messages shown through `window`, as "kind: text". */
export const shownMessages: string[] = [];

export const window = {
  setStatusBarMessage(text: string) {
    shownMessages.push(`status: ${text}`);
    return { dispose: () => undefined };
  },
  async showInformationMessage(text: string) {
    shownMessages.push(`info: ${text}`);
    return undefined;
  },
  async showWarningMessage(text: string) {
    shownMessages.push(`warning: ${text}`);
    return undefined;
  },
  async showErrorMessage(text: string) {
    shownMessages.push(`error: ${text}`);
    return undefined;
  },
};

interface ConfigurationProperty {
  default?: unknown;
}

const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const properties: Record<string, ConfigurationProperty> = packageJson.contributes.configuration.properties;

/** User values per full key (`ragcoder.x`), as if written to the user's settings.json. */
export const userSettings = new Map<string, unknown>();

/** Calls of `WorkspaceConfiguration.update`, in order. */
export const settingUpdates: Array<{ key: string; value: unknown; target: number }> = [];

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
    async update(key: string, value: unknown, target: number): Promise<void> {
      const name = fullKey(key);
      settingUpdates.push({ key: name, value, target });
      userSettings.set(name, value);
    },
  };
}

export const workspace = { getConfiguration };

const mock = {
  CancellationTokenSource,
  InlineCompletionTriggerKind,
  Position,
  Range,
  InlineCompletionList,
  ConfigurationTarget,
  commands,
  window,
  workspace,
};

const moduleWithResolver = Module as unknown as {
  _resolveFilename(request: string, ...rest: unknown[]): string;
};
const resolveFilename = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? 'vscode' : resolveFilename.call(this, request, ...rest);
};
require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: mock } as unknown as NodeJS.Module;
