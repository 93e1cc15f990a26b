#!/usr/bin/env bash
# Build, test and package the VS Code extension into lsp/vscode/ragcoder.vsix.
# --skip-license and --allow-missing-repository: the repository has no LICENSE file and no
# public URL yet, and without them vsce stops to ask on a terminal.
set -euo pipefail
cd "$(dirname "$0")"

npm ci
npm run compile
npm test
npx @vscode/vsce package --out ragcoder.vsix --skip-license --allow-missing-repository
