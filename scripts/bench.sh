#!/usr/bin/env bash
# `npm run bench [-- --arch amd64|arm64] [--runs N] [--scales small,big] [--big-mib N] [--no-previews]`:
# set-up (dist/ current: the dynamic providers load it at call time), rsvg-convert for the chart (Debian
# librsvg2-bin, installed here when missing: the bench is not part of `npm test`), then bench/run.ts, which writes
# bench/results.json, bench/results.md and bench/results.png. See bench/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --quiet
if ! command -v rsvg-convert >/dev/null 2>&1; then
  echo "[bench] installing librsvg2-bin (rsvg-convert, for bench/results.png)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends librsvg2-bin >/dev/null; then
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends librsvg2-bin >/dev/null
  fi
fi
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-winpe-lab-test}"
exec node -r ts-node/register/transpile-only bench/run.ts "$@"
