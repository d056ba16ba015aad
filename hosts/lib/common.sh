# Logging, status, retries and the host's settings: what every other step uses.

CLICKSTREAM_STATE=${CLICKSTREAM_STATE:-/var/lib/clickstream}
CURRENT_STEP=start

log() { echo "clickstream-bootstrap[${ROLE:-?}] $CURRENT_STEP: $*"; }

# Writes the status line to the state file (always) and to the SSM parameter (when the venv
# that can reach SSM exists). A status that cannot be published is logged, not fatal: the
# console and the file still say it.
set_status() {
  local line="$1"
  install -d -m 0755 "$CLICKSTREAM_STATE"
  printf '%s %s\n' "$line" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$CLICKSTREAM_STATE/bootstrap-status.tmp"
  mv -f "$CLICKSTREAM_STATE/bootstrap-status.tmp" "$CLICKSTREAM_STATE/bootstrap-status"
  if [ -n "${STATUS_PARAMETER:-}" ] && [ -x "${VENV:-/nonexistent}/bin/python" ]; then
    "$VENV/bin/python" -m clickstream_host put-parameter --region "$REGION" --name "$STATUS_PARAMETER" \
      --value "$line" >/dev/null 2>&1 || log "could not publish the status to $STATUS_PARAMETER"
  fi
}

on_error() {
  local rc=$? line=$1 cmd=$2
  trap - ERR
  log "FAILED (exit $rc) at line $line: $cmd"
  set_status "failed $CURRENT_STEP: exit $rc at line $line: ${cmd:0:200}"
  # The console of the instance (EC2 get-console-output) shows this line.
  [ -w /dev/console ] && echo "clickstream-bootstrap: failed $CURRENT_STEP (see /var/log/cloud-init-output.log)" > /dev/console 2>/dev/null || true
  exit "$rc"
}
trap 'on_error $LINENO "$BASH_COMMAND"' ERR

step() {
  CURRENT_STEP=$1
  shift
  log "start"
  "$@"
}

fail() {
  log "FAILED: $*"
  set_status "failed $CURRENT_STEP: $*"
  exit 1
}

retry() {
  local n=0
  until "$@"; do
    n=$((n + 1))
    [ "$n" -ge "${RETRIES:-8}" ] && { log "giving up after $n tries: $*"; return 1; }
    sleep $((n * ${RETRY_SECONDS:-5}))
  done
}

# Replace a file only when its content, mode or owner differs; returns 0 when it wrote, 1 when
# the file was already right. Writing identical files would still be a change for anyone watching mtimes.
install_if_changed() {
  local src=$1 dest=$2 mode=${3:-0644} owner=${4:-root:root}
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ] \
      && [ "$(stat -c %U:%G "$dest")" = "$owner" ]; then
    return 1
  fi
  install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
  return 0
}

# Render a template of the bundle: @KEY@ becomes the value of the shell variable KEY.
render() {
  local template=$1 out=$2 key val
  cp "$template" "$out"
  # `|| true`: a template without placeholders is fine, and errtrace would otherwise run the
  # ERR trap inside this substitution.
  for key in $({ grep -o '@[A-Z_0-9]*@' "$template" || true; } | sort -u | tr -d @); do
    [ -n "${!key+x}" ] || fail "template $(basename "$template") names @$key@, which is not set"
    val=${!key}
    val=${val//\\/\\\\}
    val=${val//&/\\&}
    val=${val//|/\\|}
    sed -i "s|@$key@|$val|g" "$out"
  done
}

require() {
  local key
  for key in "$@"; do
    [ -n "${!key:-}" ] || fail "$HOST_ENV does not set $key (docs/hosts.md lists every key)"
  done
}

load_config() {
  local file=$1
  [ -r "$file" ] || fail "no settings file $file (cloud-init writes it)"
  # shellcheck source=/dev/null
  . "$file"
  require ROLE NAME REGION BUCKET DB_NAME ADMIN_USER PASSWORD_PARAMETER WORK_MEM_MB MAX_CONNECTIONS
  case "$ROLE" in
    warehouse) require DASHBOARD_USER SHINY_PORT ;;
    oltp) ;;
    *) fail "ROLE must be warehouse or oltp, not '$ROLE'" ;;
  esac
  [ "$(jq_manifest role)" = "$ROLE" ] || fail "this bundle is for the $(jq_manifest role) host, not $ROLE"
  BUNDLE_SHA=$(basename "$(readlink -f "$BUNDLE_DIR")")
  VENV=/opt/clickstream/venv
  PGROOT=/var/lib/pgsql
  PGDATA=$PGROOT/data
  TLS_DIR=$PGROOT/tls
  export VENV PGDATA
  set_status "running (bundle $BUNDLE_SHA)"
}

# One value of MANIFEST.json without jq (not in the AL2023 minimal image): the manifest is
# written by our own builder with one "key": "value" pair per line at the top level.
jq_manifest() {
  sed -n "s/^  \"$1\": \"\\([^\"]*\\)\",\\{0,1\\}$/\\1/p" "$BUNDLE_DIR/MANIFEST.json" | head -n 1
}

finish() {
  CURRENT_STEP=done
  set_status "ready $BUNDLE_SHA"
  log "ready: bundle $BUNDLE_SHA"
}
