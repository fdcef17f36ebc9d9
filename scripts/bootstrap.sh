# Sourced by ./orchestrator and ./run-tests: makes a Node >= 22.13 the first `node` on PATH and
# installs the locked dependencies when they are missing or older than package-lock.json.
# A machine that already has Node 24 pays only a version check and two file-time comparisons.
# shellcheck shell=bash

orch_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orch_tools="$orch_root/.tools"

orch_node_ok() {
  # True when the given node binary is at least 22.13 (node:sqlite, stable type stripping flag).
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)' 2>/dev/null
}

orch_say() { printf '[bootstrap] %s\n' "$*" >&2; }

if ! { command -v node >/dev/null 2>&1 && orch_node_ok node; }; then
  if ! orch_node_ok "$orch_tools/node_modules/.bin/node"; then
    orch_say "system node is $(node --version 2>/dev/null || echo 'missing'); fetching Node 24 from the npm registry into .tools/ (once)"
    npm install --prefix "$orch_tools" --no-audit --no-fund --no-save --loglevel=error node@24 >&2 ||
      { orch_say "could not install Node 24 (npm install --prefix .tools node@24 failed)"; return 1 2>/dev/null || exit 1; }
    orch_node_ok "$orch_tools/node_modules/.bin/node" ||
      { orch_say "the Node installed under .tools/ does not run"; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$orch_tools/node_modules/.bin:$PATH"
fi

if [ ! -f "$orch_root/node_modules/.package-lock.json" ] ||
  [ "$orch_root/package-lock.json" -nt "$orch_root/node_modules/.package-lock.json" ]; then
  orch_say "installing dependencies (npm ci, once; the Claude Code binary is about 380 MB)"
  (cd "$orch_root" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
    { orch_say "npm ci failed"; return 1 2>/dev/null || exit 1; }
fi
