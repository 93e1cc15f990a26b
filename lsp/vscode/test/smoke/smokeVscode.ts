/**
 * A `vscode` module for the smoke run: enough of the editor API for the real language
 * client to start the real server, open a document and send requests. Members that the
 * run never exercises come from a catch-all that returns disposables.
 */

import * as path from 'path';
import Module = require('module');

type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((item) => item !== listener)) };
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      listener(value);
    }
  }

  dispose(): void {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly callback: () => void = () => undefined) {}

  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }

  dispose(): void {
    this.callback();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly path: string) {}

  get fsPath(): string {
    return this.path;
  }

  static file(fsPath: string): Uri {
    return new Uri('file', path.resolve(fsPath));
  }

  static parse(text: string): Uri {
    const url = new URL(text);
    return new Uri(url.protocol.replace(':', ''), decodeURIComponent(url.pathname));
  }

  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.join(base.path, ...parts));
  }

  toString(): string {
    return `${this.scheme}://${encodeURI(this.path)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

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
  readonly start: Position;
  readonly end: Position;

  constructor(startLine: number | Position, startCharacter: number | Position, endLine?: number, endCharacter?: number) {
    if (startLine instanceof Position && startCharacter instanceof Position) {
      this.start = startLine;
      this.end = startCharacter;
    } else {
      this.start = new Position(startLine as number, startCharacter as number);
      this.end = new Position(endLine ?? 0, endCharacter ?? 0);
    }
  }
}

export class InlineCompletionItem {
  constructor(readonly insertText: string, readonly range?: Range, readonly command?: unknown) {}
}

export class InlineCompletionList {
  constructor(readonly items: InlineCompletionItem[]) {}
}

export class CancellationError extends Error {}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };

  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

export const InlineCompletionTriggerKind = { Invoke: 0, Automatic: 1 };

/** Catch-all for members the smoke run does not exercise: callable, constructible, disposable. */
function anything(): unknown {
  const target = function () {
    return anything();
  };
  return new Proxy(target, {
    get: (_target, property) => {
      if (property === 'then') {
        return undefined;
      }
      if (property === 'dispose') {
        return () => undefined;
      }
      if (property === Symbol.toPrimitive) {
        return () => 0;
      }
      return anything();
    },
    apply: () => anything(),
    construct: () => anything() as object,
  });
}

/** Wrap `members` so that any member it lacks is the catch-all. */
export function withFallback<T extends object>(members: T): T {
  return new Proxy(members, {
    get: (target, property) => (property in target ? (target as Record<string | symbol, unknown>)[property] : anything()),
  });
}

/** Install `mock` as the module returned by `require('vscode')`. */
export function installVscodeModule(mock: object): void {
  const moduleWithResolver = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const resolveFilename = moduleWithResolver._resolveFilename;
  moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]): string {
    return request === 'vscode' ? 'vscode' : resolveFilename.call(this, request, ...rest);
  };
  require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: mock } as unknown as NodeJS.Module;
}
