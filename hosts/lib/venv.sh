# The host's Python environment, from the bundle's wheels only (pip --no-index).

build_venv() {
  # The venv is the bundle's wheels and requirements: a new dashboards wheel with the same
  # version number still rebuilds it, because the fingerprint covers the wheels' bytes.
  local marker=$VENV/.bundle-fingerprint fingerprint
  fingerprint=$(cd "$BUNDLE_DIR" && sha256sum requirements.txt wheels/*.whl | sha256sum | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$marker" 2>/dev/null)" = "$fingerprint" ]; then
    log "venv already matches the bundle's wheels"
    return 0
  fi
  log "building $VENV from $BUNDLE_DIR/wheels"
  # The marker is written last: a run cut short leaves no marker and the next run rebuilds.
  rm -rf "$VENV"
  "$PYTHON" -m venv --without-pip "$VENV"
  # pip runs from its own wheel: the distribution's ensurepip is not needed.
  "$VENV/bin/python" "$(ls "$BUNDLE_DIR"/wheels/pip-*.whl)/pip" install --quiet --no-index \
    --no-cache-dir --disable-pip-version-check --find-links "$BUNDLE_DIR/wheels" \
    -r "$BUNDLE_DIR/requirements.txt"
  echo "$fingerprint" > "$marker"
  VENV_CHANGED=1

}

read_password() {
  DB_PASSWORD=$(retry "$VENV/bin/python" -m clickstream_host get-parameter --region "$REGION" \
    --name "$PASSWORD_PARAMETER" --decrypt) || fail "could not read $PASSWORD_PARAMETER from SSM"
  [ -n "$DB_PASSWORD" ] || fail "$PASSWORD_PARAMETER is empty"
  export DB_PASSWORD
}
