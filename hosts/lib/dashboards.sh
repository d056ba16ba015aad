# The warehouse's dashboards: the shiny_app package from the venv, on 127.0.0.1 only (reached
# through Session Manager port forwarding), reading through the local socket as the
# read-only login.

install_dashboards() {
  local changed=0 tmp
  if ! id -u "$DASHBOARD_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$DASHBOARD_USER"
  fi
  tmp=$(mktemp)
  render "$BUNDLE_DIR/units/shiny.env" "$tmp"
  install_if_changed "$tmp" /etc/clickstream/shiny.env 0644 && changed=1
  rm -f "$tmp"
  install_unit clickstream-shiny.service && changed=1
  reload_units
  systemctl enable --quiet clickstream-shiny.service
  if ! systemctl is-active --quiet clickstream-shiny.service; then
    systemctl start clickstream-shiny.service
  elif [ "$changed" = 1 ] || [ "${VENV_CHANGED:-0}" = 1 ]; then
    systemctl restart clickstream-shiny.service
  fi
  "$VENV/bin/python" -m clickstream_host wait-http --url "http://127.0.0.1:$SHINY_PORT/" --timeout 180 \
    || fail "the dashboards do not answer on 127.0.0.1:$SHINY_PORT (journalctl -u clickstream-shiny)"
}
