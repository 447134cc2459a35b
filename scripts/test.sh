#!/usr/bin/env bash
# `npm test`: set-up (idempotent, cached), type check, lint + format check, then the whole vitest suite
# (formats, toolchains, providers, the real engine through the Automation API, bad inputs, faults).
#   scripts/test.sh [--faults] [vitest args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --quiet
source scripts/env.sh

echo "[test] type check (tsc --noEmit, strict)"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint and format (biome check)"
npx biome check --error-on-warnings . >/dev/null || { npx biome check . ; exit 1; }

mkdir -p .work
args=()
if [ "${1:-}" = "--faults" ]; then shift; args+=(test/faults); fi
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.work/vitest-report.json "${args[@]}" "$@"
rc=$?
set -e
node -e '
  const r = require("./.work/vitest-report.json");
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' 2>/dev/null || true
exit $rc
