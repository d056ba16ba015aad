# The data volume: formatted only when it holds no filesystem, mounted by UUID at /var/lib/pgsql.

mount_data_volume() {
  require DATA_DEVICE
  local dev uuid
  for _ in $(seq 1 180); do [ -e "$DATA_DEVICE" ] && break; sleep 5; done
  [ -e "$DATA_DEVICE" ] || fail "data volume $DATA_DEVICE never appeared"
  dev=$(readlink -f "$DATA_DEVICE")
  if [ -z "$(blkid -o value -s TYPE "$dev" || true)" ]; then
    log "formatting the empty data volume $dev"
    mkfs.xfs -q -L pgdata "$dev"
  fi
  uuid=$(blkid -o value -s UUID "$dev")
  [ -n "$uuid" ] || fail "data volume $dev has a filesystem without a UUID"
  grep -q "^UUID=$uuid " /etc/fstab || echo "UUID=$uuid $PGROOT xfs defaults,noatime,nofail 0 2" >> /etc/fstab
  install -d "$PGROOT"
  if ! mountpoint -q "$PGROOT"; then
    mount "$PGROOT"
  fi
  [ "$(stat -c %U "$PGROOT")" = postgres ] || chown postgres:postgres "$PGROOT"
  [ "$(stat -c %a "$PGROOT")" = 700 ] || chmod 0700 "$PGROOT"
  command -v restorecon >/dev/null && restorecon -R "$PGROOT" 2>/dev/null || true
}
