import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { findExecutable, INSTALL_COMMAND, missingServerMessage, resolveServerLaunch } from '../src/serverLaunch';

describe('server launch', () => {
  it('resolveServerLaunch prefers serverCommand, then pythonPath, then ragcoder serve', () => {
    assert.deepStrictEqual(resolveServerLaunch(['/venv/bin/ragcoder', '-v', 'serve'], '/venv/bin/python'), {
      command: '/venv/bin/ragcoder',
      args: ['-v', 'serve'],
    });
    assert.deepStrictEqual(resolveServerLaunch([], '/venv/bin/python'), { command: '/venv/bin/python', args: ['-m', 'lsp'] });
    assert.deepStrictEqual(resolveServerLaunch(['  '], ''), { command: 'ragcoder', args: ['serve'] });
  });

  it('findExecutable searches PATH and checks the execute bit', () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ragcoder-launch-'));
    const executable = path.join(directory, 'ragcoder');
    const plain = path.join(directory, 'not-executable');
    fs.writeFileSync(executable, '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(plain, '', { mode: 0o644 });
    const searchPath = ['/nonexistent-dir', directory].join(path.delimiter);

    assert.strictEqual(findExecutable('ragcoder', searchPath, 'linux'), executable);
    assert.strictEqual(findExecutable(executable, '', 'linux'), executable);
    assert.strictEqual(findExecutable('not-executable', searchPath, 'linux'), null);
    assert.strictEqual(findExecutable('missing', searchPath, 'linux'), null);
    assert.strictEqual(findExecutable(directory, '', 'linux'), null);
  });

  it('missingServerMessage names the command and the install command', () => {
    const message = missingServerMessage({ command: 'ragcoder', args: ['serve'] });

    assert.ok(message.includes('"ragcoder"'), message);
    assert.ok(message.includes(INSTALL_COMMAND), message);
    assert.ok(message.includes('ragcoder.pythonPath'), message);
  });
});
