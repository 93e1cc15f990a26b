/** Text and tooltip of the status bar item, built from what the server reported. */

/** The index as `ragcoder.status` reports it. */
export type IndexStatus =
  | { state: 'missing' }
  | { state: 'indexing'; done: number; total: number; percentage: number; message: string }
  | { state: 'ready'; files: number; chunks: number }
  | { state: 'invalid'; message: string };

/** State shown by the status bar item. */
export interface StatusSnapshot {
  serverRunning: boolean;
  completionsEnabled: boolean;
  /** Model file name from the server, or the configured model until the server replies. */
  model: string;
  /** Null until the server has reported, or when it cannot. */
  index: IndexStatus | null;
  /** Last completion as timed by the server, from request to reply, in milliseconds. */
  serverLatencyMs: number | null;
  /** Last completion as timed by the editor, including the round trip, in milliseconds. */
  clientLatencyMs: number | null;
}

/** Label of the configured model: the file name of `model.path`, or the shipped model. */
export function modelLabel(modelPath: string): string {
  const trimmed = modelPath.trim();
  if (trimmed === '') {
    return 'default model';
  }
  return trimmed.split(/[\\/]/).pop() ?? trimmed;
}

function shortModelName(model: string): string {
  return model.replace(/\.gguf$/i, '');
}

function indexLabel(index: IndexStatus | null): string {
  if (index === null) {
    return 'index ?';
  }
  switch (index.state) {
    case 'missing':
      return 'no index';
    case 'indexing':
      return `indexing ${index.percentage}%`;
    case 'ready':
      return `${index.files} ${index.files === 1 ? 'file' : 'files'} indexed`;
    case 'invalid':
      return 'index invalid';
  }
}

function indexDetail(index: IndexStatus | null): string {
  if (index === null) {
    return 'not reported yet';
  }
  switch (index.state) {
    case 'missing':
      return 'none; run "ragcoder: Reindex Workspace"';
    case 'indexing':
      return `indexing, ${index.done} of ${index.total} files (${index.percentage}%) ${index.message}`.trimEnd();
    case 'ready':
      return `ready, ${index.files} files, ${index.chunks} chunks`;
    case 'invalid':
      return `cannot be read: ${index.message}`;
  }
}

function milliseconds(value: number | null): string {
  return value === null ? '' : `${Math.round(value)} ms`;
}

/** Build the status bar text: model, index state and the server's last completion latency. */
export function statusText(snapshot: StatusSnapshot): string {
  if (!snapshot.serverRunning) {
    return '$(error) ragcoder: stopped';
  }
  const icon = snapshot.completionsEnabled ? '$(sparkle)' : '$(circle-slash)';
  const parts = [`${icon} ${shortModelName(snapshot.model)}`, indexLabel(snapshot.index)];
  const latency = snapshot.serverLatencyMs ?? snapshot.clientLatencyMs;
  if (latency !== null) {
    parts.push(milliseconds(latency));
  }
  return parts.join(' · ');
}

/** Build the tooltip, with the index counts and both latencies. */
export function statusTooltip(snapshot: StatusSnapshot): string {
  const latencies = [];
  if (snapshot.serverLatencyMs !== null) {
    latencies.push(`${milliseconds(snapshot.serverLatencyMs)} in the server`);
  }
  if (snapshot.clientLatencyMs !== null) {
    latencies.push(`${milliseconds(snapshot.clientLatencyMs)} in the editor`);
  }
  return [
    `ragcoder language server: ${snapshot.serverRunning ? 'running' : 'stopped'}`,
    `Model: ${snapshot.model}`,
    `Index: ${indexDetail(snapshot.index)}`,
    `Last completion: ${latencies.length > 0 ? latencies.join(', ') : 'none yet'}`,
    `Inline completions: ${snapshot.completionsEnabled ? 'on' : 'off'} (click to toggle)`,
  ].join('\n');
}
