#!/usr/bin/env bash
# Set-up for a fresh machine, idempotent and cached: Debian packages of the open toolchain, npm packages,
# the Pulumi engine built from Go modules, and the compiled provider code (dist/). Re-running takes seconds.
#   scripts/setup.sh            everything
#   scripts/setup.sh --quiet    only print what changes
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1
say() { echo "[setup] $*"; }
step_start=0
begin() { step_start=$(date +%s.%N); [ $quiet = 1 ] || say "$1 ..."; }
end() { local t; t=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'); say "$1 (${t}s)"; }

# 1. Debian packages (only the missing ones; apt-get update only when something is missing)
begin "Debian packages"
mapfile -t pkgs < <(grep -v '^\s*#' scripts/debian-packages.txt | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  end "Debian packages: installed ${#missing[@]}"
else
  end "Debian packages: all ${#pkgs[@]} present"
fi

# 2. npm packages (npm ci when the lockfile changed since the last install)
begin "npm packages"
lockhash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.winpe-lab-lock
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lockhash" ]; then
  end "npm packages: up to date"
else
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lockhash" > "$stamp"
  end "npm packages: installed"
fi

# 3. The Pulumi engine (CLI, Node language host, command provider), built from Go modules, cached
begin "Pulumi engine"
bash scripts/build-engine.sh
end "Pulumi engine"

# 4. Compiled program and providers (dist/): the program runs from dist/index.js, dynamic providers load dist/
begin "TypeScript build (dist/)"
bash scripts/build-dist.sh --quiet
end "TypeScript build (dist/)"
