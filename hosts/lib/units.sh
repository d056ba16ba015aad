# systemd units of the bundle: rendered from units/, installed only when they differ.

UNITS_CHANGED=0

install_unit() {
  local unit=$1 tmp
  tmp=$(mktemp)
  render "$BUNDLE_DIR/units/$unit" "$tmp"
  if install_if_changed "$tmp" "/etc/systemd/system/$unit" 0644; then
    UNITS_CHANGED=1
    rm -f "$tmp"
    return 0
  fi
  rm -f "$tmp"
  return 1
}

reload_units() {
  if [ "$UNITS_CHANGED" = 1 ]; then
    systemctl daemon-reload
    UNITS_CHANGED=0
  fi
}

install_timers() {
  DB_ROLE_DIR=$([ "$ROLE" = warehouse ] && echo dw || echo oltp)
  install_unit clickstream-pg-backup.service || true
  install_unit clickstream-pg-backup.timer || true
  install_unit clickstream-bootstrap.service || true
  reload_units
  systemctl enable --quiet clickstream-bootstrap.service
  if [ "${BACKUP_ENABLED:-true}" = true ]; then
    require BACKUP_PREFIX BACKUP_ON_CALENDAR
    systemctl enable --quiet --now clickstream-pg-backup.timer
  else
    systemctl disable --quiet --now clickstream-pg-backup.timer 2>/dev/null || true
  fi
}
