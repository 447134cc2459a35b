#!/usr/bin/env bash
# Compile the program and the providers to dist/ when a source is newer than the last build (else a no-op).
# The Pulumi program runs from dist/index.js (no TypeScript compiler loaded on every `pulumi up`), and dynamic
# providers load dist/resources/providers/*.js at call time.
# Two builds at once (a test run and a command in another terminal) take turns on a lock: the second finds the
# first's build up to date, and dist/ is never a mix of two compilations.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fresh() {
  [ -f dist/.stamp ] && [ -z "$(find index.ts resources stack formats runtime toolchains cli tsconfig.json tsconfig.build.json package-lock.json -newer dist/.stamp -print -quit 2>/dev/null)" ]
}
fresh && exit 0
if command -v flock >/dev/null 2>&1; then # util-linux (Git Bash may lack it: then one build at a time is on you)
  exec 9>"$root/.dist.lock"
  flock 9
  fresh && exit 0
fi
[ "${1:-}" = "--quiet" ] || echo "[build] compiling index.ts, resources/ and the libraries to dist/" >&2
tmp="$(mktemp -d "$root/.dist.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/tsc -p tsconfig.build.json --outDir "$tmp"
touch "$tmp/.stamp"
rm -rf dist.old
if [ -d dist ]; then mv dist dist.old; fi
mv "$tmp" dist
rm -rf dist.old
