#!/usr/bin/env bash
# Builds the Pulumi engine offline from Go modules into .tools/bin/ (idempotent, cached):
#   pulumi                    the CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (v3.248.0)
#   pulumi-language-nodejs    our Node.js language host   (engine/cmd/pulumi-language-nodejs)
#   pulumi-resource-command   our command provider 1.2.1  (engine/cmd/pulumi-resource-command)
# and copies the Node SDK's dynamic-provider launcher (pulumi-resource-pulumi-nodejs) next to them. It also builds
#   gofakes3                  the S3-compatible server of the shared-state tests (engine/s3server, a module of its own:
#                             github.com/johannesboyne/gofakes3 v1.2.0; test/backend/ runs it on loopback)
# See engine/README.md for why the last two are ours.
#
# Cache: .tools/stamps/<binary>.stamp holds a hash of its module's go.mod and go.sum, the binary's sources
# under engine/cmd/, the Go version and the build flags. Matching stamp + existing binary = skipped.
#   scripts/build-engine.sh           build what is out of date
#   scripts/build-engine.sh --force   rebuild everything
# Uses `go` from PATH (Go >= the go.mod `go` line) and the module proxy from the Go environment
# (GOPROXY; Go's default when unset).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine="$root/engine"
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: scripts/build-engine.sh [--force]" >&2; exit 2 ;;
esac

say() { echo "[build-engine] $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
total_start=$(now)

# --- Go toolchain -------------------------------------------------------------------------------------
# the machine's Go lives in /usr/local/go on these images; a non-login shell (CI) may not have it on PATH
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "[build-engine] error: 'go' is not on PATH. Install Go $(awk '/^go /{print $2}' "$engine/go.mod") or newer" \
    "from https://go.dev/dl/ (Debian's golang-go package is too old) and put its bin/ on PATH." >&2
  exit 1
fi
go_version=$(go env GOVERSION)                      # e.g. go1.26.8
need=$(awk '/^go /{print $2}' "$engine/go.mod")     # e.g. 1.25.11
if [ "$(printf '%s\n%s\n' "$need" "${go_version#go}" | sort -V | head -n1)" != "$need" ]; then
  echo "[build-engine] error: $(command -v go) is $go_version but engine/go.mod needs go $need or newer" \
    "(Debian's golang-go is too old): install a newer Go from https://go.dev/dl/." >&2
  exit 1
fi
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"          # never fetch another toolchain behind our back
say "using $go_version ($(command -v go)), GOPROXY=$(go env GOPROXY)"

mkdir -p "$bin" "$stamps"
tags="osusergo,grpcnotrace"
pulumi_version="v3.248.0"

# stamp_of <name> <module dir> <ldflags> <source dirs...>: the cache key of one binary.
stamp_of() {
  local name=$1 moddir=$2 ldflags=$3; shift 3
  {
    echo "name=$name go=$go_version tags=$tags ldflags=$ldflags"
    (cd "$moddir" && sha256sum go.mod go.sum)
    local d
    for d in "$@"; do
      (cd "$engine" && find "$d" -type f | LC_ALL=C sort | xargs -r sha256sum)
    done
  } | sha256sum | cut -d' ' -f1
}

# build <name> <module dir> <package> <ldflags> <source dirs...>
build() {
  local name=$1 moddir=$2 pkg=$3 ldflags=$4; shift 4
  local start out stamp key
  start=$(now)
  out="$bin/$name"
  stamp="$stamps/$name.stamp"
  key=$(stamp_of "$name" "$moddir" "$ldflags" "$@")
  if [ $force = 0 ] && [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    say "$name: up to date ($(since "$start")s)"
    return
  fi
  say "$name: building $pkg ..."
  # Build next to the target and rename, so a failed or interrupted build never leaves a broken binary.
  (cd "$moddir" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out.tmp.$$" "$pkg")
  mv -f "$out.tmp.$$" "$out"
  echo "$key" > "$stamp"
  say "$name: built ($(since "$start")s)"
}

build pulumi "$engine" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
build pulumi-language-nodejs "$engine" ./cmd/pulumi-language-nodejs "-s -w" cmd/pulumi-language-nodejs
build pulumi-resource-command "$engine" ./cmd/pulumi-resource-command "-s -w" cmd/pulumi-resource-command
build gofakes3 "$engine/s3server" github.com/johannesboyne/gofakes3/cmd/gofakes3 "-s -w"

# --- Launchers shipped in the Node SDK ----------------------------------------------------------------
# pulumi-resource-pulumi-nodejs runs dynamic providers (pulumi.dynamic.Resource); the engine looks for
# it next to the CLI. pulumi-analyzer-policy (policy packs) is copied too when the SDK ships it.
sdk="$root/node_modules/@pulumi/pulumi"
if [ ! -d "$sdk" ]; then
  say "warning: $sdk is missing (run npm ci): dynamic providers will not work until it is copied"
else
  for launcher in pulumi-resource-pulumi-nodejs pulumi-analyzer-policy; do
    [ -f "$sdk/$launcher" ] || continue
    if cmp -s "$sdk/$launcher" "$bin/$launcher" && [ -x "$bin/$launcher" ]; then
      say "$launcher: up to date"
    else
      cp -f "$sdk/$launcher" "$bin/$launcher.tmp.$$"
      chmod +x "$bin/$launcher.tmp.$$"
      mv -f "$bin/$launcher.tmp.$$" "$bin/$launcher"
      say "$launcher: copied from node_modules/@pulumi/pulumi"
    fi
  done
fi

say "done ($(since "$total_start")s): $bin"
