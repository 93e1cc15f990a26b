/** Resolution of the command that starts `ragcoder serve`, and the message when it is missing. */

import * as fs from 'fs';
import * as path from 'path';

export const INSTALL_COMMAND = 'pip install ragcoder';

/** Executable and arguments of the language server process. */
export interface ServerLaunch {
  command: string;
  args: string[];
}

/**
 * Pick the server command: `ragcoder.serverCommand` when set, else `<pythonPath> -m lsp`
 * when `ragcoder.pythonPath` is set, else `ragcoder serve`.
 */
export function resolveServerLaunch(serverCommand: string[], pythonPath: string): ServerLaunch {
  const parts = serverCommand.filter((part) => part.trim() !== '');
  if (parts.length > 0) {
    return { command: parts[0], args: parts.slice(1) };
  }
  if (pythonPath !== '') {
    return { command: pythonPath, args: ['-m', 'lsp'] };
  }
  return { command: 'ragcoder', args: ['serve'] };
}

/**
 * Find an executable the way a shell would: a path with a separator is checked as is, a
 * bare name is looked up in the directories of `searchPath`. Returns null when not found.
 */
export function findExecutable(command: string, searchPath: string, platform: string = process.platform): string | null {
  const suffixes = platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  const candidates = command.includes('/') || command.includes('\\')
    ? [command]
    : searchPath.split(path.delimiter).filter((dir) => dir !== '').map((dir) => path.join(dir, command));

  for (const candidate of candidates) {
    for (const suffix of suffixes) {
      if (isExecutableFile(candidate + suffix)) {
        return candidate + suffix;
      }
    }
  }
  return null;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Message shown when the server executable cannot be found. */
export function missingServerMessage(launch: ServerLaunch): string {
  return (
    `ragcoder: the language server command "${launch.command}" was not found. ` +
    `Install ragcoder with \`${INSTALL_COMMAND}\` in a Python environment, then set ` +
    `ragcoder.pythonPath to that environment's python or ragcoder.serverCommand to ` +
    `["/path/to/venv/bin/ragcoder", "serve"].`
  );
}
