#!/usr/bin/env bash
# Compile the program and the providers to dist/ when a source is newer than the last build (else a no-op).
# The Pulumi program runs from dist/index.js (no TypeScript compiler loaded on every `pulumi up`), and dynamic
# providers load dist/resources/providers/*.js at call time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -f dist/.stamp ] && [ -z "$(find index.ts resources stack formats runtime toolchains cli tsconfig.json tsconfig.build.json package-lock.json -newer dist/.stamp -print -quit 2>/dev/null)" ]; then
  exit 0
fi
[ "${1:-}" = "--quiet" ] || echo "[build] compiling index.ts, resources/ and the libraries to dist/" >&2
rm -rf dist.tmp
node_modules/.bin/tsc -p tsconfig.build.json --outDir dist.tmp
touch dist.tmp/.stamp
rm -rf dist
mv dist.tmp dist
