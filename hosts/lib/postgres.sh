# The PostgreSQL cluster on the data volume, its configuration, roles and migrations.

PG_CHANGED=${PG_CHANGED:-0}

psql_super() { runuser -u postgres -- "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h /run/postgresql "$@"; }

owner_dsn() {
  echo "host=localhost port=5432 dbname=$DB_NAME user=$ADMIN_USER sslmode=verify-full sslrootcert=$TLS_DIR/ca.crt"
}

write_server_config() {
  local tmp mem_mb
  tmp=$(mktemp -d)
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
  SHARED_BUFFERS_MB=$(( mem_mb / 4 ))
  EFFECTIVE_CACHE_MB=$(( mem_mb * 3 / 4 ))
  MAINTENANCE_MB=$(( mem_mb / 16 )); [ "$MAINTENANCE_MB" -gt 2048 ] && MAINTENANCE_MB=2048
  render "$BUNDLE_DIR/units/postgresql.conf" "$tmp/postgresql.conf"
  {
    echo "# managed by the clickstream bootstrap (bundle $BUNDLE_SHA)"
    echo "local   all       postgres                 peer"
    [ "$ROLE" = warehouse ] && echo "local   $DB_NAME  $DASHBOARD_USER          peer"
    echo "hostssl $DB_NAME  $ADMIN_USER  127.0.0.1/32  scram-sha-256"
    echo "hostssl $DB_NAME  $ADMIN_USER  ::1/128       scram-sha-256"
    local cidr
    for cidr in ${CLIENT_CIDRS:-}; do
      echo "hostssl $DB_NAME  $ADMIN_USER  $cidr  scram-sha-256"
    done
  } > "$tmp/pg_hba.conf"
  install -d -o postgres -g postgres -m 0700 "$PGDATA/conf.d"
  if ! grep -q "^include_dir = 'conf.d'" "$PGDATA/postgresql.conf"; then
    echo "include_dir = 'conf.d'" >> "$PGDATA/postgresql.conf"
    PG_CHANGED=1
  fi
  install_if_changed "$tmp/postgresql.conf" "$PGDATA/conf.d/10-clickstream.conf" 0600 postgres:postgres && PG_CHANGED=1
  install_if_changed "$tmp/pg_hba.conf" "$PGDATA/pg_hba.conf" 0600 postgres:postgres && PG_CHANGED=1
  rm -rf "$tmp"
}

configure_and_start_postgres() {
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "initialising the cluster on the data volume"
    runuser -u postgres -- "$PG_BINDIR/initdb" -D "$PGDATA" --auth-local=peer --auth-host=scram-sha-256 \
      --data-checksums --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    PG_CHANGED=1
  fi
  write_server_config
  install_unit clickstream-postgresql.service && PG_CHANGED=1
  reload_units
  systemctl enable --quiet clickstream-postgresql.service
  if ! systemctl is-active --quiet clickstream-postgresql.service; then
    systemctl start clickstream-postgresql.service
  elif [ "$PG_CHANGED" = 1 ]; then
    log "configuration changed: restarting PostgreSQL"
    systemctl restart clickstream-postgresql.service
  fi
  for _ in $(seq 1 60); do runuser -u postgres -- "$PG_BINDIR/pg_isready" -q -h /run/postgresql && return 0; sleep 2; done
  fail "PostgreSQL did not become ready (journalctl -u clickstream-postgresql)"
}

# Everything that needs more than the owner may do, done once here as the superuser over the
# local socket: the owner itself (no SUPERUSER, CREATEROLE or CREATEDB), its database, and on
# the warehouse the read-only group and the dashboards login. The migrations then run as the
# owner and only grant on objects they own.
create_roles() {
  psql_super -d postgres -v admin="$ADMIN_USER" -v db="$DB_NAME" -f "$BUNDLE_DIR/sql/owner.sql"
  if [ "$ROLE" = warehouse ]; then
    psql_super -d postgres -v dash="$DASHBOARD_USER" -v db="$DB_NAME" -f "$BUNDLE_DIR/sql/warehouse-roles.sql"
  fi
  # The password changes only when it no longer works (a rotated SSM value): re-setting it
  # each run would rewrite the role with a new salt for nothing.
  local why
  if ! why=$(PGPASSWORD="$DB_PASSWORD" "$PG_BINDIR/psql" -X -q -d "$(owner_dsn)" -c 'SELECT 1' 2>&1 >/dev/null); then
    log "setting the password of $ADMIN_USER from SSM (${why//$'\n'/ })"
    psql_super -d postgres -v admin="$ADMIN_USER" <<'SQL'
\getenv pw DB_PASSWORD
ALTER ROLE :"admin" WITH PASSWORD :'pw';
SQL
  fi
}

# The pending migrations and the current definitions (functions, triggers, views) in one
# transaction, by the same runner the tests use (lib/dbmigrate.py, sql/README.md). It does
# nothing when no migration is pending and the definitions are those already applied.
apply_migrations() {
  local url="postgresql://$ADMIN_USER@localhost:5432/$DB_NAME?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.crt"
  log "applying what is pending of $(ls "$BUNDLE_DIR"/migrations/*.sql | grep -vc '\.rollback\.sql$') migrations and the definitions as $ADMIN_USER"
  PGPASSWORD="$DB_PASSWORD" "$VENV/bin/python" "$BUNDLE_DIR/lib/dbmigrate.py" --database "$url" "$BUNDLE_DIR/migrations" \
    || fail "migrations failed as $ADMIN_USER (see the dbmigrate error above; nothing of this run was committed)"
}
