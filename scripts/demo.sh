#!/usr/bin/env bash
# `npm run demo [-- x64|arm64]`: set-up if needed, make the synthetic WinPE working folder if missing, then
# `pulumi up --yes` of the demo stack, then say where the ISO is, what was injected and how to boot it.
# Running it again with nothing changed reports no changes (and runs no tool).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
arch_name="${1:-x64}"
case "$arch_name" in
  x64|amd64) stack=demo-x64; arch=amd64 ;;
  arm64|aarch64) stack=demo-arm64; arch=arm64 ;;
  *) echo "usage: npm run demo [-- x64|arm64]" >&2; exit 2 ;;
esac
bash scripts/setup.sh --quiet
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-winpe-lab-demo}"

workspace=$(sed -n 's/^  winpe-lab:workspace: *//p' "stacks/Pulumi.$stack.yaml")
if [ ! -d "$workspace/media" ]; then
  echo "[demo] making the synthetic WinPE working folder $workspace (winpe copype $arch --synthetic)"
  mkdir -p "$(dirname "$workspace")"
  bash bin/winpe copype "$arch" "$workspace" --synthetic
fi

echo "[demo] pulumi up --stack $stack"
bash scripts/pulumi.sh up --yes --skip-preview --suppress-outputs --stack "$stack"

echo
bash scripts/pulumi.sh stack output --json --stack "$stack" > .work/$stack-outputs.json
node -e '
  const o = require(process.argv[1]);
  console.log(`ISO:        ${o.isoPath}  (${o.isoSize} bytes, digest ${o.isoDigest})`);
  console.log("Injected into boot.wim:");
  for (const [dest, f] of Object.entries(o.injectedFiles ?? {})) console.log(`  ${dest}  sha256 ${f.sha256}`);
  console.log(`BCD:        ${JSON.stringify(o.bcdSettings)}`);
  if (o.bootCheck) console.log(`Boot check: ${o.bootCheck}`);
  console.log(`Boot it:    ${o.vmStartCommand}`);
  const t = o.driverTest ?? {};
  const why = t.verdict === "pass" ? "" : `: ${t.reason}`;
  console.log(`Driver test: ${t.verdict}${why}`);
  if (t.verdict !== "not run") {
    console.log(`  ${(t.command ?? []).join(" ")} in the image (${t.runner}, ${(t.durationMs / 1000).toFixed(1)} s, exit code ${t.exitCode}):`);
    for (const l of [...(t.outputHead ?? []), ...((t.outputTail ?? []).length > 0 ? ["...", ...t.outputTail] : [])]) console.log(`    ${l}`);
  }
  console.log(`Boot-time test: ${o.bootTest}`);
  if (o.verifier && typeof o.verifier === "object")
    console.log(`Verifier:   ${o.verifier.values.VerifyDrivers} with flags ${o.verifier.flags.join(",")} (VerifyDriverLevel 0x${o.verifier.values.VerifyDriverLevel.toString(16)}) in ${o.verifier.key}`);
  console.log(`Debugger:   ${o.debuggerCommand === "[secret]" ? "npm run -s pulumi -- stack output debuggerCommand --show-secrets --stack '"$stack"'" : o.debuggerCommand}`);
  if (o.debugTarget) console.log(`Debug it:   npm run -s winpe -- debug --stack '"$stack"' -c "bp sioctl!DriverEntry; g"`);
' "$root/.work/$stack-outputs.json"
