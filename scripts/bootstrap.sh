# Sourced by ./orchestrator and ./run-tests: makes a Node >= 22.13 the first `node` on PATH and
# installs the locked dependencies when they are missing or older than package-lock.json, and
# builds dist/ when it is missing or older than src/ (dist/web/, the dashboard, older than web/).
# A machine that already has Node 24 pays only a version check (`node --version`), file-time
# comparisons and a `find` over src/ and web/ that stops at its first newer file.
# shellcheck shell=bash

orch_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orch_tools="$orch_root/.tools"

orch_node_ok() {
  # True when the given node binary is at least 22.13 (node:sqlite, stable type stripping flag).
  # Read from `node --version`, which answers without starting JavaScript: a `node -e` check
  # cost a whole Node start-up (~40 ms, twice where the system's Node is too old) on every command.
  local version major minor
  version="$("$1" --version 2>/dev/null)" || return 1
  version="${version#v}"
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  ((major > 22 || (major == 22 && minor >= 13)))
}

orch_say() { printf '[bootstrap] %s\n' "$*" >&2; }

# System packages, installed once where we can (root with apt-get), in the background while
# Node, the dependencies and the build are set up (a fresh clone's set-up for the tests took 37 s
# so, 50 s one after the other); waited for at the end. A set-up that fails before then leaves
# the install to finish on its own.
# - Claude Code's Bash sandbox needs bubblewrap and socat on Linux (it checks both: socat
#   carries the sandbox's network proxy); agents whose type keeps the sandbox on (the default)
#   do not start without them (SANDBOX_UNAVAILABLE).
# - The dashboard's browser tests drive Debian's Chromium (/usr/bin/chromium) with
#   playwright-core, never a downloaded browser: for the tests only (./run-tests sets
#   ORCH_BOOTSTRAP_FOR_TESTS); the orchestrator itself never needs a browser.
orch_packages=""
orch_apt_pid=""
if [[ "$OSTYPE" == linux* ]]; then
  command -v bwrap >/dev/null 2>&1 || orch_packages="bubblewrap"
  command -v socat >/dev/null 2>&1 || orch_packages="$orch_packages socat"
  if [ "${ORCH_BOOTSTRAP_FOR_TESTS:-}" = "1" ] && [ ! -x /usr/bin/chromium ]; then
    orch_packages="$orch_packages chromium"
  fi
  orch_packages="${orch_packages# }"
  if [ -n "$orch_packages" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    orch_say "installing $orch_packages in the background (once; apt-get install)"
    orch_apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
    # shellcheck disable=SC2086 # one word per package
    {
      # A fresh image has no package lists yet; a package that cannot be had must not keep
      # the others out (one install of several fails whole), so each is then tried alone.
      orch_apt_install $orch_packages || {
        apt-get update -qq >/dev/null 2>&1
        orch_apt_install $orch_packages || for orch_package in $orch_packages; do orch_apt_install "$orch_package"; done
      }
    } &
    orch_apt_pid=$!
    unset -f orch_apt_install
  fi
fi

# The Node under .tools/ was installed because the system's was too old: when it is there it is
# the one to use, and the system's is not even asked for its version.
if orch_node_ok "$orch_tools/node_modules/.bin/node"; then
  export PATH="$orch_tools/node_modules/.bin:$PATH"
elif ! { command -v node >/dev/null 2>&1 && orch_node_ok node; }; then
  orch_say "system node is $(node --version 2>/dev/null || echo 'missing'); fetching Node 24 from the npm registry into .tools/ (once)"
  npm install --prefix "$orch_tools" --no-audit --no-fund --no-save --loglevel=error node@24 >&2 ||
    { orch_say "could not install Node 24 (npm install --prefix .tools node@24 failed)"; return 1 2>/dev/null || exit 1; }
  orch_node_ok "$orch_tools/node_modules/.bin/node" ||
    { orch_say "the Node installed under .tools/ does not run"; return 1 2>/dev/null || exit 1; }
  export PATH="$orch_tools/node_modules/.bin:$PATH"
fi

if [ ! -f "$orch_root/node_modules/.package-lock.json" ] ||
  [ "$orch_root/package-lock.json" -nt "$orch_root/node_modules/.package-lock.json" ]; then
  orch_say "installing dependencies (npm ci, once; the Claude Code binary is about 380 MB)"
  (cd "$orch_root" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
    { orch_say "npm ci failed"; return 1 2>/dev/null || exit 1; }
fi

# The compiled package in dist/, which bin/orchestrator.mjs runs when present, and the dashboard
# in dist/web/, which `orchestrator serve` serves: each built when it is missing or one of its
# sources (or build configs) changed since; a `find` that stops at the first newer file is all
# each costs otherwise. Only the part that changed is rebuilt. A failed dashboard build is
# reported but stops nothing (the server then says the page is not built). Only in a clone (an
# installed package has no sources).
orch_stale() { # stamp, then sources: true when the stamp is missing or older than a source
  [ ! -f "$1" ] || [ -n "$(find "${@:2}" -newer "$1" -print -quit 2>/dev/null)" ]
}
if [ -f "$orch_root/scripts/build.mjs" ] && [ -d "$orch_root/src" ]; then
  if orch_stale "$orch_root/dist/.built" "$orch_root/src" "$orch_root/tsconfig.json" "$orch_root/tsconfig.build.json" \
    "$orch_root/scripts/build.mjs"; then
    orch_say "building dist/ (src/ or its build changed since the last build)"
    node "$orch_root/scripts/build.mjs" --only=lib >&2 ||
      { orch_say "the build failed (node scripts/build.mjs --only=lib)"; return 1 2>/dev/null || exit 1; }
  fi
  if [ -d "$orch_root/web" ] && orch_stale "$orch_root/dist/web/.built" "$orch_root/web"; then
    orch_say "building dist/web/, the dashboard (web/ changed since the last build)"
    node "$orch_root/scripts/build.mjs" --only=web >&2 ||
      orch_say "the dashboard's build failed (node scripts/build.mjs --only=web); carrying on without it"
  fi
fi

# The system packages started above: each one still missing is said, with what it costs.
if [ -n "$orch_apt_pid" ]; then
  wait "$orch_apt_pid" || true
fi
if [ -n "$orch_packages" ]; then
  orch_sandbox_missing=""
  command -v bwrap >/dev/null 2>&1 || orch_sandbox_missing="bubblewrap"
  command -v socat >/dev/null 2>&1 || orch_sandbox_missing="$orch_sandbox_missing socat"
  orch_sandbox_missing="${orch_sandbox_missing# }"
  if [ -n "$orch_sandbox_missing" ]; then
    if [ -n "$orch_apt_pid" ]; then
      orch_say "could not install $orch_sandbox_missing: agents with the sandbox on will not start (SANDBOX_UNAVAILABLE)"
    else
      orch_say "the agents' Bash sandbox is unavailable, missing: $orch_sandbox_missing (apt-get install $orch_sandbox_missing)"
    fi
  fi
  if [[ " $orch_packages " == *" chromium "* ]] && [ ! -x /usr/bin/chromium ]; then
    if [ -n "$orch_apt_pid" ]; then
      orch_say "could not install chromium: the dashboard's browser tests (test/web) will fail"
    else
      orch_say "Chromium (/usr/bin/chromium) is missing: the dashboard's browser tests need it (apt-get install chromium)"
    fi
  fi
  unset orch_sandbox_missing
fi
unset orch_packages orch_apt_pid
