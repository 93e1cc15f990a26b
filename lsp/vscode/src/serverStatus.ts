/**
 * The status bar's view of the server: it requests the model, the index state and the last
 * completion latency with the server command `ragcoder.status`, and polls while indexing.
 */

import type { IndexStatus, StatusSnapshot } from './statusText';

/** Server command that reports the status. */
export const SERVER_STATUS = 'ragcoder.status';

/** Delay between status requests while the server is indexing, in milliseconds. */
export const INDEXING_POLL_MS = 1000;

/** The checked result of `ragcoder.status`. */
export interface ServerStatus {
  model: string;
  index: IndexStatus;
  lastCompletionLatencyMs: number | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function parseIndex(value: unknown): IndexStatus | null {
  if (!isRecord(value)) {
    return null;
  }
  switch (value.state) {
    case 'missing':
      return { state: 'missing' };
    case 'indexing':
      if (isCount(value.done) && isCount(value.total) && isCount(value.percentage)) {
        const message = typeof value.message === 'string' ? value.message : '';
        return { state: 'indexing', done: value.done, total: value.total, percentage: value.percentage, message };
      }
      return null;
    case 'ready':
      return isCount(value.files) && isCount(value.chunks) ? { state: 'ready', files: value.files, chunks: value.chunks } : null;
    case 'invalid':
      return { state: 'invalid', message: typeof value.message === 'string' ? value.message : '' };
    default:
      return null;
  }
}

/** Check a `ragcoder.status` result; null when it is missing or has another shape. */
export function parseServerStatus(value: unknown): ServerStatus | null {
  if (!isRecord(value) || typeof value.model !== 'string') {
    return null;
  }
  const index = parseIndex(value.index);
  const latency = value.last_completion_latency_ms;
  if (index === null || (latency !== null && typeof latency !== 'number')) {
    return null;
  }
  return { model: value.model, index, lastCompletionLatencyMs: latency };
}

/** Connections of the controller to the editor, replaced by fakes in tests. */
export interface StatusControllerHost {
  /** Send `ragcoder.status`; reject when the server is not running. */
  requestStatus(): Promise<unknown>;
  render(snapshot: StatusSnapshot): void;
  log(message: string): void;
  setTimer(callback: () => void, delayMs: number): { dispose(): void };
}

/**
 * Keep the status bar's snapshot up to date with the server.
 *
 * One status request runs at a time; a refresh asked for meanwhile runs once it ends.
 */
export class StatusController {
  readonly snapshot: StatusSnapshot;
  private inFlight: Promise<void> | null = null;
  private isRefreshPending = false;
  private pollTimer: { dispose(): void } | null = null;
  private isDisposed = false;
  private isIndexRunning = false;
  private lastProblem: string | null = null;

  constructor(private readonly host: StatusControllerHost, model: string, completionsEnabled: boolean) {
    this.snapshot = {
      serverRunning: false,
      completionsEnabled,
      model,
      index: null,
      serverLatencyMs: null,
      clientLatencyMs: null,
    };
  }

  /** Follow the language client's state; a running server is asked for its status. */
  setServerRunning(isRunning: boolean): Promise<void> {
    this.snapshot.serverRunning = isRunning;
    this.host.render(this.snapshot);
    return isRunning ? this.refresh() : Promise.resolve();
  }

  setCompletionsEnabled(isEnabled: boolean): void {
    this.snapshot.completionsEnabled = isEnabled;
    this.host.render(this.snapshot);
  }

  /** Record an answered completion timed by the editor, then fetch the server's timing. */
  recordCompletion(clientLatencyMs: number): Promise<void> {
    this.snapshot.clientLatencyMs = clientLatencyMs;
    this.host.render(this.snapshot);
    return this.refresh();
  }

  /**
   * Follow an index run that this editor started: poll until it ends, also before the
   * server has seen the run's request, and ask once more when it has ended.
   */
  setIndexRunning(isRunning: boolean): Promise<void> {
    this.isIndexRunning = isRunning;
    return this.refresh();
  }

  /**
   * Ask the server for its status now, or right after the request in flight. The promise
   * ends with the request in flight, so a coalesced refresh may still be running then.
   */
  refresh(): Promise<void> {
    if (this.isDisposed) {
      return Promise.resolve();
    }
    if (this.inFlight !== null) {
      this.isRefreshPending = true;
      return this.inFlight;
    }
    this.inFlight = this.fetch().finally(() => {
      this.inFlight = null;
      if (this.isRefreshPending) {
        this.isRefreshPending = false;
        void this.refresh();
      }
    });
    return this.inFlight;
  }

  dispose(): void {
    this.isDisposed = true;
    this.pollTimer?.dispose();
    this.pollTimer = null;
  }

  private async fetch(): Promise<void> {
    let status: ServerStatus | null = null;
    try {
      status = parseServerStatus(await this.host.requestStatus());
      if (status === null) {
        this.logOnce(`${SERVER_STATUS} returned nothing usable; the status bar shows no index state`);
      }
    } catch (error) {
      this.logOnce(`${SERVER_STATUS} failed: ${String(error)}`);
    }
    if (status !== null) {
      this.lastProblem = null;
    }

    if (status !== null) {
      this.snapshot.model = status.model;
      this.snapshot.index = status.index;
      this.snapshot.serverLatencyMs = status.lastCompletionLatencyMs;
    } else {
      this.snapshot.index = null;
    }
    this.host.render(this.snapshot);
    this.schedulePoll();
  }

  /** Log a problem unless it repeats the previous one, because every completion asks again. */
  private logOnce(message: string): void {
    if (message !== this.lastProblem) {
      this.lastProblem = message;
      this.host.log(message);
    }
  }

  private schedulePoll(): void {
    this.pollTimer?.dispose();
    this.pollTimer = null;
    if (this.isDisposed || (!this.isIndexRunning && this.snapshot.index?.state !== 'indexing')) {
      return;
    }
    this.pollTimer = this.host.setTimer(() => {
      this.pollTimer = null;
      void this.refresh();
    }, INDEXING_POLL_MS);
  }
}
