# Operating-system packages and where their programs live.

# The only step a test root may replace (its image carries the same programs): the AL2023
# repositories are served from S3 and reached through the Gateway endpoint, so this needs no
# internet. dnf exits 0 when everything is already installed.
install_packages() {
  retry dnf install -y -q postgresql15-server postgresql15-contrib python3.11 openssl xfsprogs util-linux
  locate_programs
}

locate_programs() {
  PYTHON=$(command -v python3.11) || fail "python3.11 is not installed"
  local dir
  PG_BINDIR=
  # AL2023 puts the server in /usr/bin; Debian-family roots in /usr/lib/postgresql/15/bin.
  for dir in /usr/lib/postgresql/15/bin /usr/pgsql-15/bin /usr/bin; do
    if [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ]; then PG_BINDIR=$dir; break; fi
  done
  [ -n "$PG_BINDIR" ] || fail "no PostgreSQL 15 server found (postgres and initdb)"
  "$PG_BINDIR/postgres" --version | grep -q ' 15\.' || fail "$PG_BINDIR/postgres is not PostgreSQL 15"
  id -u postgres >/dev/null 2>&1 || fail "the postgres user does not exist (the server package creates it)"
  export PG_BINDIR PYTHON
  log "python $PYTHON, PostgreSQL in $PG_BINDIR"
}
