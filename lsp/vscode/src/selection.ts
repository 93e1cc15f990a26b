/** Conversion of an editor selection into the arguments of the server command `ragcoder.explain`. */

/** A selection as `vscode.Selection` has it; lines and characters are 0-based. */
export interface LineSelection {
  start: { line: number };
  end: { line: number; character: number };
}

/** Arguments of `ragcoder.explain` for a selection: [uri, start_line, end_line], 0-based and inclusive. */
export function explainArguments(uri: string, selection: LineSelection): [string, number, number] {
  let endLine = selection.end.line;
  // A selection of whole lines ends at column 0 of the next line, which is not selected.
  if (endLine > selection.start.line && selection.end.character === 0) {
    endLine -= 1;
  }
  return [uri, selection.start.line, endLine];
}
