#!/usr/bin/env bash
# `npm run -s pulumi -- <args>`: the project's own Pulumi CLI with the offline defaults of scripts/env.sh.
# A stack named with --stack/-s that has a file in stacks/ but not yet a state in the local backend is
# created first. Passphrase: demo-* stacks use the documented fixed passphrase; other stacks take
# PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) from the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$WINPE_ROOT"
if [ ! -x .tools/bin/pulumi ]; then
  echo "winpe-lab: the Pulumi engine is not built yet: run 'npm run setup'" >&2
  exit 1
fi
bash scripts/build-dist.sh   # the program runs from dist/index.js: compile when a source changed (else instant)
stack=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --stack|-s) stack="${args[$((i + 1))]:-}" ;;
    --stack=*) stack="${args[$i]#--stack=}" ;;
  esac
done
# An adk stack on a host that is not Windows cannot run: say so in one line, before asking for anything.
case "${args[0]:-}" in
  preview|up|update|refresh|destroy)
    on_windows=0
    case "$(uname -s)" in MINGW*|MSYS*|CYGWIN*) on_windows=1 ;; esac
    if [ $on_windows = 0 ] && [ -n "$stack" ] && [ -f "stacks/Pulumi.$stack.yaml" ] \
      && grep -Eq '^  winpe-lab:toolchain: *adk *$' "stacks/Pulumi.$stack.yaml"; then
      echo "error: stack '$stack' uses the adk toolchain (MSBuild/WDK, DISM, MakeWinPEMedia, Hyper-V), which needs Windows; on Linux use a demo stack (npm run demo) or set 'winpe-lab:toolchain' to 'open'. 'npm run -s winpe -- plan --stack $stack' prints the commands this stack runs on Windows." >&2
      exit 1
    fi ;;
esac
if [ -n "$stack" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  case "$stack" in
    demo-*) export PULUMI_CONFIG_PASSPHRASE="winpe-lab-demo" ;;
    *)
      echo "winpe-lab: PULUMI_CONFIG_PASSPHRASE is not set: stack '$stack' is a real stack whose secrets (KDNET key, signing key) are encrypted with it; set it (e.g. export PULUMI_CONFIG_PASSPHRASE=...) and run again" >&2
      exit 1 ;;
  esac
fi
if [ -n "$stack" ] && [ -f "stacks/Pulumi.$stack.yaml" ] && [ "${args[0]:-}" != "stack" ]; then
  if ! pulumi stack ls --json 2>/dev/null | grep -q "\"name\": \"$stack\""; then
    pulumi stack init "$stack" >/dev/null
  fi
fi
exec pulumi "$@"
