#!/usr/bin/env bash
# Build, test and package the VS Code extension into lsp/vscode/ragcoder.vsix.
# The repository's LICENSE is copied in for the package, so the repository keeps one copy.
# --allow-missing-repository: ragcoder has no public repository URL yet, and without the
# flag vsce stops to ask on a terminal.
set -euo pipefail
cd "$(dirname "$0")"

npm ci
npm run compile
npm test
cp ../../LICENSE LICENSE
npx @vscode/vsce package --out ragcoder.vsix --allow-missing-repository
