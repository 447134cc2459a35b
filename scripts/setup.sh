#!/usr/bin/env bash
# Set-up for a fresh machine, idempotent and cached: Debian packages of the open toolchain, npm packages,
# the Pulumi engine built from Go modules, the kernel debugger (ntoseye, in .tools/ntoseye), and the compiled
# provider code (dist/). Re-running takes seconds.
#   scripts/setup.sh            everything
#   scripts/setup.sh --quiet    only print what changes
#   scripts/setup.sh --dry-run  say which steps this host gets, run none
# On Windows (Git Bash) there are no Debian packages: the adk toolchain's own tools (ADK + WinPE add-on, WDK,
# MSBuild, DISM, Hyper-V) are checked instead (`winpe doctor --toolchain adk`), and what is missing is said.
# WINPE_SETUP_PLATFORM=windows|linux overrides the detection (tests of the Windows branch run on Linux).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quiet=0; dry=0
case "${1:-}" in --quiet) quiet=1 ;; --dry-run) dry=1 ;; esac
platform="${WINPE_SETUP_PLATFORM:-}"
if [ -z "$platform" ]; then
  case "$(uname -s)" in MINGW*|MSYS*|CYGWIN*) platform=windows ;; *) platform=linux ;; esac
fi
say() { echo "[setup] $*"; }
if [ $dry = 1 ]; then
  if [ "$platform" = windows ]; then
    say "windows: npm packages (npm ci); adk toolchain check (winpe doctor --toolchain adk); Pulumi engine (Go, or the pulumi CLI on PATH); TypeScript build (dist/)"
  else
    say "linux: Debian packages (scripts/debian-packages.txt); npm packages (npm ci); Pulumi engine (Go); ntoseye (.tools/ntoseye); TypeScript build (dist/)"
  fi
  exit 0
fi
step_start=0
begin() { step_start=$(date +%s.%N); [ $quiet = 1 ] || say "$1 ..."; }
end() { local t; t=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'); say "$1 (${t}s)"; }

# 1. Debian packages (only the missing ones; apt-get update only when something is missing); none on Windows
if [ "$platform" = linux ]; then
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

# 1b. Windows: what the adk toolchain needs (said now, the set-up goes on; its exit code says it at the end)
adk_missing=0
if [ "$platform" = windows ]; then
  begin "adk toolchain check"
  bash bin/winpe doctor --toolchain adk || adk_missing=1
  end "adk toolchain check"
fi

# 3. The Pulumi engine (CLI, Node language host, command provider), built from Go modules, cached. On Windows
#    without Go, a pulumi CLI already installed is used instead.
begin "Pulumi engine"
if [ "$platform" = windows ] && ! command -v go >/dev/null 2>&1 && command -v pulumi >/dev/null 2>&1; then
  mkdir -p .tools/bin
  printf '#!/usr/bin/env bash\nexec %q "$@"\n' "$(command -v pulumi)" > .tools/bin/pulumi
  chmod +x .tools/bin/pulumi
  say "no Go on PATH: using the installed pulumi CLI ($(command -v pulumi))"
else
  bash scripts/build-engine.sh
fi
end "Pulumi engine"

# 3b. The kernel debugger of the open toolchain (ntoseye, pinned with hashes in scripts/python-requirements.txt) in the
#     project's own Python environment .tools/ntoseye: never a global pip. Redone only when the requirements change.
if [ "$platform" = linux ]; then
  begin "ntoseye (Python environment .tools/ntoseye)"
  reqhash=$(sha256sum scripts/python-requirements.txt | cut -d' ' -f1)
  pystamp=.tools/ntoseye/.winpe-lab-requirements
  if [ -x .tools/ntoseye/bin/ntoseye ] && [ -f "$pystamp" ] && [ "$(cat "$pystamp")" = "$reqhash" ]; then
    end "ntoseye: up to date"
  else
    py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3   # Debian's, with python3-venv
    rm -rf .tools/ntoseye
    "$py" -m venv .tools/ntoseye
    .tools/ntoseye/bin/pip install -q --disable-pip-version-check --no-input --require-hashes \
      -r scripts/python-requirements.txt
    echo "$reqhash" > "$pystamp"
    end "ntoseye: installed ($(.tools/ntoseye/bin/ntoseye --version))"
  fi
fi

# 4. Compiled program and providers (dist/): the program runs from dist/index.js, dynamic providers load dist/
begin "TypeScript build (dist/)"
bash scripts/build-dist.sh --quiet
end "TypeScript build (dist/)"

if [ $adk_missing = 1 ]; then
  say "the adk toolchain is not complete on this host (see the check above): install what is missing, then run npm run setup again"
  exit 1
fi
