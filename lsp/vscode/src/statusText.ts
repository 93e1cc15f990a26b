/** Text and tooltip of the status bar item, built from the client's view of the server. */

export type IndexState = 'unknown' | 'missing' | 'present' | 'indexing' | 'failed';

/** State shown by the status bar item. */
export interface StatusSnapshot {
  model: string;
  indexState: IndexState;
  lastLatencyMs: number | null;
  completionsEnabled: boolean;
  serverRunning: boolean;
}

const INDEX_LABELS: Record<IndexState, string> = {
  unknown: 'index ?',
  missing: 'no index',
  present: 'indexed',
  indexing: 'indexing…',
  failed: 'index failed',
};

/** Label of the configured model: the file name of `model.path`, or the shipped model. */
export function modelLabel(modelPath: string): string {
  const trimmed = modelPath.trim();
  if (trimmed === '') {
    return 'default model';
  }
  const name = trimmed.split(/[\\/]/).pop() ?? trimmed;
  return name.replace(/\.gguf$/i, '');
}

export function statusText(snapshot: StatusSnapshot): string {
  if (!snapshot.serverRunning) {
    return '$(error) ragcoder: stopped';
  }
  const icon = snapshot.completionsEnabled ? '$(sparkle)' : '$(circle-slash)';
  const latency = snapshot.lastLatencyMs === null ? '' : ` · ${Math.round(snapshot.lastLatencyMs)} ms`;
  return `${icon} ragcoder (${snapshot.model}) · ${INDEX_LABELS[snapshot.indexState]}${latency}`;
}

export function statusTooltip(snapshot: StatusSnapshot): string {
  const latency = snapshot.lastLatencyMs === null ? 'none yet' : `${Math.round(snapshot.lastLatencyMs)} ms`;
  return [
    `Model: ${snapshot.model}`,
    `Index: ${INDEX_LABELS[snapshot.indexState]}`,
    `Last completion latency: ${latency}`,
    `Inline completions: ${snapshot.completionsEnabled ? 'on' : 'off'} (click to toggle)`,
  ].join('\n');
}
