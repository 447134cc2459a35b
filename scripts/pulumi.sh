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
# A `pulumi` killed mid-update leaves its stack lock, which Pulumi never finds stale. Remove the locks of this
# stack whose process is gone (same host, pid not running), and say so; a live holder's lock stays.
if [ -n "$stack" ] && [ "${PULUMI_BACKEND_URL#file://}" != "$PULUMI_BACKEND_URL" ]; then
  node -e '
    const fs = require("fs"), path = require("path"), os = require("os");
    const [dir, stack] = process.argv.slice(1);
    let orgs = [];
    try { orgs = fs.readdirSync(dir); } catch { process.exit(0); }
    for (const org of orgs) {
      const d = path.join(dir, org, "winpe-lab", stack);
      let files = [];
      try { files = fs.readdirSync(d).filter((f) => f.endsWith(".json")); } catch { continue; }
      for (const f of files) {
        let lock;
        try { lock = JSON.parse(fs.readFileSync(path.join(d, f), "utf8")); } catch { continue; }
        if (lock.hostname !== os.hostname() || !Number.isInteger(lock.pid)) continue;
        let alive = true;
        try { process.kill(lock.pid, 0); } catch (e) { alive = e.code === "EPERM"; }
        if (alive) continue;
        fs.rmSync(path.join(d, f), { force: true });
        fs.rmSync(path.join(d, `${f}.attrs`), { force: true });
        console.error(`winpe-lab: removed the lock of stack ${stack} left by a killed pulumi (pid ${lock.pid}, ${lock.timestamp ?? ""}); run refresh --clear-pending-creates if a resource was being created`);
      }
    }
  ' "${PULUMI_BACKEND_URL#file://}/.pulumi/locks" "$stack" || true
fi
exec pulumi "$@"
