# Sourced by the project's scripts: the offline Pulumi environment (the embedded defaults).
# - the CLI, language host and command provider built by scripts/build-engine.sh, first on PATH
# - a local file state backend inside the project (.pulumi-state/, ignored by git)
# - PULUMI_HOME inside the project (.tools/pulumi-home): no plugins from elsewhere
# - no update checks, no automatic plugin downloads
# Passphrase policy: see README ("Secrets and passphrases").
WINPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WINPE_ROOT
# Only for states written before the providers were found by module resolution: their serialized provider shells
# look for dist/ under WINPE_LAB_ROOT (today's shells load winpe-lab/providers/<name> and never read it).
export WINPE_LAB_ROOT="$WINPE_ROOT"
export PATH="$WINPE_ROOT/.tools/bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$WINPE_ROOT/.tools/pulumi-home}"
# the state backend: yours when PULUMI_BACKEND_URL is set (a team's S3-compatible bucket: README "Shared state"),
# else the local file backend inside the project
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$WINPE_ROOT/.pulumi-state}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_SKIP_CONFIRMATIONS=true
mkdir -p "$PULUMI_HOME"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
export PULUMI_NODEJS_TRANSPILE_ONLY=true   # the type check runs in npm test; the engine runs the program transpile-only
export GIT_OPTIONAL_LOCKS=0                 # the CLI runs `git status` for update metadata: never let it write .git/index
