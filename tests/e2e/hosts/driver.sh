#!/bin/bash
# Runs inside the booted test host as a oneshot unit, in place of cloud-init's runcmd, and
# talks to the test through /results (bind-mounted). Phase "first": run the bootstrap as
# cloud-init does, record checks and a fingerprint, wait for the test to load data and click
# the dashboards, run the bootstrap a second time, fingerprint again, run the backup once,
# power off. Phase "reboot": the host's own clickstream-bootstrap.service has run at boot;
# record its result and a fingerprint, power off.
set -uo pipefail
R=/results
. /etc/clickstream/host.env
phase=$(cat $R/phase)
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -At -h /run/postgresql)

fingerprint() {
  {
    echo "## files"
    sha256sum /etc/systemd/system/clickstream-* /etc/clickstream/* /etc/fstab \
      /var/lib/pgsql/data/postgresql.conf /var/lib/pgsql/data/pg_hba.conf /var/lib/pgsql/data/conf.d/* \
      /var/lib/pgsql/tls/* /opt/clickstream/venv/.bundle-fingerprint 2>&1
    echo "## venv files"
    find /opt/clickstream/venv -type f | wc -l
    echo "## roles"
    "${PSQL[@]}" -d postgres -c "SELECT a.rolname, a.rolsuper, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, a.rolpassword, s.setconfig FROM pg_authid a LEFT JOIN pg_db_role_setting s ON s.setrole = a.oid WHERE a.rolname !~ '^pg_' ORDER BY 1" 2>&1
    "${PSQL[@]}" -d postgres -c "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname !~ '^pg_' ORDER BY 1, 2" 2>&1
    "${PSQL[@]}" -d postgres -c "SELECT datname, pg_get_userbyid(datdba), datacl FROM pg_database ORDER BY 1" 2>&1
    echo "## migrations"
    "${PSQL[@]}" -d "$DB_NAME" -c "SELECT migration_id, migration_hash, applied_at_utc FROM _yoyo_migration ORDER BY 1" 2>&1
    echo "## definitions"
    "${PSQL[@]}" -d "$DB_NAME" -c "SELECT id, digest, migrations, applied_at FROM _sql_definitions ORDER BY id" 2>&1
    "${PSQL[@]}" -d "$DB_NAME" -c "SELECT p.oid, p.oid::regprocedure::text, md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE pg_get_userbyid(n.nspowner) = '$ADMIN_USER' UNION ALL SELECT c.oid, c.oid::regclass::text, md5(pg_get_viewdef(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND pg_get_userbyid(n.nspowner) = '$ADMIN_USER' UNION ALL SELECT t.oid, t.tgname, md5(pg_get_triggerdef(t.oid)) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND pg_get_userbyid(n.nspowner) = '$ADMIN_USER' ORDER BY 2" 2>&1
    echo "## units"
    for u in clickstream-postgresql.service clickstream-shiny.service clickstream-pg-backup.timer clickstream-bootstrap.service; do
      echo "$u $(systemctl is-enabled $u 2>&1)"
    done
  } > "$1"
}

runtime() {
  # What a converged second run must not change either: no restart, no rebuilt venv.
  {
    echo "postmaster_start $("${PSQL[@]}" -d postgres -c 'SELECT pg_postmaster_start_time()')"
    echo "venv_inode $(stat -c %i /opt/clickstream/venv)"
    for u in clickstream-postgresql.service clickstream-shiny.service; do
      echo "$u pid=$(systemctl show -p MainPID --value $u) active=$(systemctl is-active $u 2>&1)"
    done
  } > "$1"
}

checks() {
  {
    echo "owner_is_superuser=$("${PSQL[@]}" -d postgres -c "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = '$ADMIN_USER'")"
    echo "migration_owner=$("${PSQL[@]}" -d "$DB_NAME" -c "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')")"
    echo "backup_timer=$(systemctl is-enabled clickstream-pg-backup.timer 2>&1)/$(systemctl is-active clickstream-pg-backup.timer 2>&1)"
    echo "backup_next=$(systemctl show -p NextElapseUSecRealtime --value clickstream-pg-backup.timer)"
    echo "status=$(cut -d' ' -f1-2 /var/lib/clickstream/bootstrap-status)"
    echo "dnf_calls=$(wc -l < /var/log/dnf-shim.log)"
    echo "ssl=$(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -At -h /run/postgresql -d postgres -c 'SHOW ssl')"
    if [ "$ROLE" = warehouse ]; then
      for sql in "INSERT INTO dw.events (event_id) VALUES (gen_random_uuid())" \
                 "CREATE TABLE public.intruder (x int)" "DELETE FROM dw.daily_overview" \
                 "SET default_transaction_read_only = off; DELETE FROM dw.daily_overview"; do
        out=$(runuser -u "$DASHBOARD_USER" -- /usr/lib/postgresql/15/bin/psql -X -At -h /run/postgresql -d "$DB_NAME" -c "$sql" 2>&1)
        echo "reader_write rc=$? $sql => ${out//$'\n'/ }"
      done
      echo "reader_read=$(runuser -u "$DASHBOARD_USER" -- /usr/lib/postgresql/15/bin/psql -X -At -h /run/postgresql -d "$DB_NAME" -c 'SELECT count(*) >= 0 FROM dw.daily_overview' 2>&1)"
      echo "shiny=$(systemctl is-active clickstream-shiny.service)"
    fi
  } > "$1"
}

case "$phase" in
  first)
    /opt/clickstream/current/bootstrap > $R/run1.log 2>&1
    echo $? > $R/run1.rc
    checks $R/checks1
    fingerprint $R/fp1
    runtime $R/rt1
    touch $R/ready1
    for _ in $(seq 1 900); do [ -e $R/go2 ] && break; sleep 1; done
    /opt/clickstream/current/bootstrap > $R/run2.log 2>&1
    echo $? > $R/run2.rc
    fingerprint $R/fp2
    runtime $R/rt2
    systemctl start clickstream-pg-backup.service > $R/backup.log 2>&1
    echo $? > $R/backup.rc
    journalctl -u clickstream-pg-backup.service --no-pager >> $R/backup.log 2>&1
    ;;
  reboot)
    for _ in $(seq 1 600); do
      state=$(systemctl is-active clickstream-bootstrap.service)
      [ "$state" = active ] || [ "$state" = failed ] && break
      sleep 1
    done
    echo "$state" > $R/reboot.state
    journalctl -u clickstream-bootstrap.service --no-pager > $R/reboot.log 2>&1
    checks $R/checks3
    fingerprint $R/fp3
    ;;
esac
journalctl --no-pager -b > $R/journal-$phase.log 2>&1
systemctl poweroff
