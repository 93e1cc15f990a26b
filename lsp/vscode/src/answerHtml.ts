/** HTML of the answer panel: the answer text and its sources as links. */

/** One source of an answer, as `ragcoder.ask` returns it; lines are 1-based. */
export interface AnswerSource {
  path: string;
  symbol: string | null;
  start_line: number;
  end_line: number;
  score: number;
}

/** Result of the server commands `ragcoder.ask` and `ragcoder.explain`. */
export interface AnswerResult {
  answer: string;
  sources: AnswerSource[];
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Render the panel. Each source link posts `{type: 'open', index}` to the extension, which
 * opens the file, so the page needs scripts but no access to files or the network.
 */
export function renderAnswerHtml(title: string, result: AnswerResult, nonce: string): string {
  const sources = result.sources
    .map((source, index) => {
      const symbol = source.symbol ? ` <code>${escapeHtml(source.symbol)}</code>` : '';
      const label = `${escapeHtml(source.path)}:${source.start_line}-${source.end_line}`;
      return `<li><a href="#" data-index="${index}">${label}</a>${symbol} <small>(score ${source.score.toFixed(3)})</small></li>`;
    })
    .join('\n');
  const sourcesSection = result.sources.length > 0 ? `<h3>Sources</h3>\n<ol>\n${sources}\n</ol>` : '<p><em>No sources.</em></p>';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<title>${escapeHtml(title)}</title>
<style>pre { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); }</style>
</head>
<body>
<h2>${escapeHtml(title)}</h2>
<pre>${escapeHtml(result.answer)}</pre>
${sourcesSection}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const link of document.querySelectorAll('a[data-index]')) {
  link.addEventListener('click', (event) => {
    event.preventDefault();
    vscode.postMessage({ type: 'open', index: Number(link.dataset.index) });
  });
}
</script>
</body>
</html>`;
}
