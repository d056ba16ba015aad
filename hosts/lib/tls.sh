# TLS for PostgreSQL: a CA made once on the data volume (so a replacement instance keeps the
# certificate the ETL trusts) and a server certificate for this instance's addresses, which
# clients check with sslmode=verify-full. The CA certificate is published to SSM.

host_subject_alt_names() {
  local names=("IP:127.0.0.1" "DNS:localhost") a h
  for a in $(ip -o -4 addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1); do names+=("IP:$a"); done
  for h in "$(hostname 2>/dev/null || true)" "$(hostname -f 2>/dev/null || true)"; do
    [ -n "$h" ] && [ "$h" != localhost ] && names+=("DNS:$h")
  done
  printf '%s\n' "${names[@]}" | sort -u | paste -sd, -
}

issue_certificates() {
  install -d -o postgres -g postgres -m 0700 "$TLS_DIR"
  local san serial
  if [ ! -s "$TLS_DIR/ca.key" ] || [ ! -s "$TLS_DIR/ca.crt" ]; then
    log "creating the host CA"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=$NAME $ROLE PostgreSQL CA" -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    rm -f "$TLS_DIR/server.crt"
    PG_CHANGED=1
  fi
  san=$(host_subject_alt_names)
  if [ ! -s "$TLS_DIR/server.crt" ] || [ "$(cat "$TLS_DIR/server.san" 2>/dev/null)" != "$san" ] \
      || ! openssl x509 -checkend 2592000 -noout -in "$TLS_DIR/server.crt" >/dev/null \
      || ! openssl verify -CAfile "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt" >/dev/null 2>&1; then
    log "issuing the server certificate for $san"
    serial=0x$(openssl rand -hex 16)
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$NAME-$ROLE" \
      -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$san" > "$TLS_DIR/server.ext"
    openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" \
      -set_serial "$serial" -days 825 -sha256 -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.crt" 2>/dev/null
    echo "$san" > "$TLS_DIR/server.san"
    rm -f "$TLS_DIR/server.csr" "$TLS_DIR/server.ext"
    PG_CHANGED=1
  fi
  chown postgres:postgres "$TLS_DIR"/*
  chmod 0600 "$TLS_DIR/ca.key" "$TLS_DIR/server.key"
  chmod 0644 "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt"
}

publish_ca_certificate() {
  [ -n "${CA_PARAMETER:-}" ] || { log "no CA_PARAMETER: the CA certificate stays on the host"; return 0; }
  retry "$VENV/bin/python" -m clickstream_host put-parameter --region "$REGION" --name "$CA_PARAMETER" \
    --value-file "$TLS_DIR/ca.crt" --if-changed >/dev/null || fail "could not publish the CA certificate to $CA_PARAMETER"
}
