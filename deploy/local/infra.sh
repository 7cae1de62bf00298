#!/usr/bin/env bash
# Local infrastructure without Docker: a real Apache Kafka (KRaft, one node) fetched from Maven
# Central and Debian's PostgreSQL. Idempotent; `down` stops only what `up` started.
#
#   deploy/local/infra.sh up | down | status | env
#
# Settings (env): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_SASL_PORT (9094: a
# SASL_PLAINTEXT listener), KAFKA_SASL_SSL_PORT (9095: SASL over TLS, a certificate for
# 127.0.0.1 signed by a local CA in .cache/kafka/tls/ca.pem), KAFKA_HEAP (768m), PGPORT (5432).
# Both SASL listeners take PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the local super user
# `packages`, and SCRAM for one user per service and the operator, each limited by ACLs to its
# own topics (pkgcontract.access). Every password is random, made on this machine: the super
# users' (`packages`, the broker's `admin`) and the keystore's in .cache/kafka/secrets.env,
# the others in .cache/kafka/users.env (both mode 0600); `infra.sh env` with
# KAFKA_LOCAL_PLAINTEXT=0 prints the settings that use them. The PLAINTEXT listener on KAFKA_PORT is for local
# development only: it has no authentication, so it is left unrestricted. State lives in
# deploy/local/.cache (ignored by git).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$here/.cache"
kafka_home="$cache/kafka"
kafka_lib="$kafka_home/lib"
kafka_data="$kafka_home/data"
kafka_pid="$kafka_home/kafka.pid"
kafka_log="$kafka_home/server.log"
kafka_tls="$kafka_home/tls"
# The super users' and the keystore's passwords: random, made once on this machine
# (`secrets_load`); nothing in the repository works as a credential.
secrets_env="$kafka_home/secrets.env"
sasl_user="packages"
tls_password="" sasl_password="" admin_password=""
pg_marker="$cache/postgres.started-by-us"
# Each service's own SCRAM user (pkgcontract.access) and its password, made on this machine.
users_env="$kafka_home/users.env"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-9095}"
KAFKA_HEAP="${KAFKA_HEAP:-768m}"
# 0: no PLAINTEXT listener for clients; everything (this script included) goes through SASL.
KAFKA_LOCAL_PLAINTEXT="${KAFKA_LOCAL_PLAINTEXT:-1}"
PGPORT="${PGPORT:-5432}"
PG_DB="${PG_DB:-packages}"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# From /: the postgres user may not enter the directory this script was started from.
as_postgres() { (cd / && as_root runuser -u postgres -- "$@"); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

python_run() {
  if command -v uv >/dev/null 2>&1 && [ -f "$root/uv.lock" ]; then
    (cd "$root" && uv run --frozen --quiet python "$@")
  else
    python3 "$@"
  fi
}

# ---------------------------------------------------------------- secrets
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

# The super users' and the keystore's passwords, made at random the first time. Made anew,
# they invalidate what the old ones protected: the keystores are made again and the SCRAM
# user `packages` is given the new password at the next start.
secrets_load() {
  if [ ! -f "$secrets_env" ]; then
    mkdir -p "$kafka_home"
    (umask 077
     printf 'TLS_PASSWORD=%s\nSASL_PASSWORD=%s\nADMIN_PASSWORD=%s\n' \
       "$(random_secret)" "$(random_secret)" "$(random_secret)" > "$secrets_env")
    rm -rf "$kafka_tls" "$kafka_data/.scram-users"
  fi
  tls_password=$(sed -n 's/^TLS_PASSWORD=//p' "$secrets_env")
  sasl_password=$(sed -n 's/^SASL_PASSWORD=//p' "$secrets_env")
  admin_password=$(sed -n 's/^ADMIN_PASSWORD=//p' "$secrets_env")
}

# ---------------------------------------------------------------- Kafka
kafka_fetch() {
  if [ -f "$kafka_lib/.complete" ]; then return; fi
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  log "fetching Apache Kafka and log4j2 from Maven Central into $kafka_lib (once)"
  rm -rf "$kafka_lib"
  mvn -q -B -f "$here/kafka-pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$kafka_lib" -DincludeScope=runtime \
    || die "Maven could not fetch org.apache.kafka:kafka_2.13 (see output above)"
  touch "$kafka_lib/.complete"
}

kafka_running() { [ -f "$kafka_pid" ] && kill -0 "$(cat "$kafka_pid")" 2>/dev/null; }

kafka_write_config() {
  mkdir -p "$kafka_home"
  sed -e "s|@DATA@|$kafka_data|g" -e "s|@PORT@|$KAFKA_PORT|g" \
      -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@SASL_PORT@|$KAFKA_SASL_PORT|g" \
      -e "s|@SASL_SSL_PORT@|$KAFKA_SASL_SSL_PORT|g" -e "s|@TLS@|$kafka_tls|g" \
      -e "s|@TLS_PASSWORD@|$tls_password|g" -e "s|@ADMIN_PASSWORD@|$admin_password|g" \
      -e "s|@SASL_PASSWORD@|$sasl_password|g" \
      "$here/kafka/server.properties" > "$kafka_home/server.properties"
  if [ "$KAFKA_LOCAL_PLAINTEXT" = "0" ]; then
    # No unauthenticated listener for clients: the broker talks to itself over SASL (PLAIN,
    # its admin user), and only the controller listener stays plaintext on loopback.
    sed -i -e "s|PLAINTEXT://127.0.0.1:$KAFKA_PORT,||g" \
      -e "s|^inter.broker.listener.name=.*|inter.broker.listener.name=SASL_PLAINTEXT\nsasl.mechanism.inter.broker.protocol=PLAIN|" \
      "$kafka_home/server.properties"
  fi
  chmod 600 "$kafka_home/server.properties"
  umask 077
  printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=PLAIN" \
    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$admin_password\";" \
    > "$kafka_home/admin.properties"
  umask 022
  cp "$here/kafka/log4j2.properties" "$kafka_home/log4j2.properties"
}

# How this script reaches the broker as its administrator: the PLAINTEXT listener, or SASL
# (PLAIN, admin) when KAFKA_LOCAL_PLAINTEXT=0.
admin_bootstrap() {
  if [ "$KAFKA_LOCAL_PLAINTEXT" = "0" ]; then echo "127.0.0.1:$KAFKA_SASL_PORT"; else echo "127.0.0.1:$KAFKA_PORT"; fi
}
admin_tool_args() {
  echo "--bootstrap-server $(admin_bootstrap)"
  if [ "$KAFKA_LOCAL_PLAINTEXT" = "0" ]; then echo "--command-config $kafka_home/admin.properties"; fi
}
admin_python() {
  if [ "$KAFKA_LOCAL_PLAINTEXT" = "0" ]; then
    KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=PLAIN \
      KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD="$admin_password" python_run "$@"
  else
    python_run "$@"
  fi
}

# A CA and a broker certificate for 127.0.0.1 (keytool, from the JDK), made once: clients
# trust .cache/kafka/tls/ca.pem (KAFKA_SSL_CAFILE).
kafka_tls_files() {
  if [ -f "$kafka_tls/broker.p12" ] && [ -f "$kafka_tls/ca.pem" ]; then return; fi
  command -v keytool >/dev/null || die "keytool not found: install a JDK 17"
  log "making a local CA and a broker certificate in $kafka_tls"
  rm -rf "$kafka_tls"; mkdir -p "$kafka_tls"
  local kt=(keytool -noprompt -storetype PKCS12 -storepass "$tls_password" -keypass "$tls_password")
  local san="SAN=ip:127.0.0.1,dns:localhost"
  "${kt[@]}" -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 \
    -dname "CN=packages local CA" -ext bc:c -keystore "$kafka_tls/ca.p12" >/dev/null 2>&1
  "${kt[@]}" -exportcert -rfc -alias ca -keystore "$kafka_tls/ca.p12" -file "$kafka_tls/ca.pem" >/dev/null 2>&1
  "${kt[@]}" -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
    -dname "CN=127.0.0.1" -ext "$san" -keystore "$kafka_tls/broker.p12" >/dev/null 2>&1
  "${kt[@]}" -certreq -alias broker -keystore "$kafka_tls/broker.p12" -file "$kafka_tls/broker.csr" >/dev/null 2>&1
  "${kt[@]}" -gencert -alias ca -keystore "$kafka_tls/ca.p12" -validity 3650 -ext "$san" -rfc \
    -infile "$kafka_tls/broker.csr" -outfile "$kafka_tls/broker.pem" >/dev/null 2>&1
  "${kt[@]}" -importcert -alias ca -file "$kafka_tls/ca.pem" -keystore "$kafka_tls/broker.p12" >/dev/null 2>&1
  "${kt[@]}" -importcert -alias broker -file "$kafka_tls/broker.pem" -keystore "$kafka_tls/broker.p12" >/dev/null 2>&1 \
    || die "could not make the broker's TLS certificate"
}

# SCRAM credentials live in the cluster's metadata: add them once per formatted storage.
kafka_scram_users() {
  local marker="$kafka_data/.scram-users"
  if [ -f "$marker" ]; then return; fi
  local mechanism
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do  # one per request: the broker's rule
    java "${java_opts[@]}" kafka.admin.ConfigCommand $(admin_tool_args) \
      --alter --entity-type users --entity-name "$sasl_user" \
      --add-config "$mechanism=[password=$sasl_password]" >/dev/null 2>&1 \
      || die "could not add the $mechanism user $sasl_user"
  done
  touch "$marker"
  log "SCRAM-SHA-256/512 user $sasl_user added"
}

# One SCRAM user per service and one for the operator, with random passwords kept in
# users.env (mode 0600), and the ACLs of pkgcontract.access: on the SASL listeners each may touch
# only the topics docs/contract.md §3 gives it. Once per formatted storage.
kafka_service_users() {
  local marker="$kafka_data/.service-users"
  local user password mechanism missing=""
  if [ -f "$users_env" ]; then
    for user in $(python_run -m pkgcontract.access users); do
      grep -q "^KAFKA_USER_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD=" "$users_env" \
        || missing="$missing $user"
    done
  fi
  # Again when a service was added since (its user and ACLs are new; the others' change).
  if [ -f "$marker" ] && [ -f "$users_env" ] && [ -z "$missing" ]; then
    # The same users: only the ACLs again when pkgcontract.access grants something new (a
    # topic added to the contract).
    local grants; grants=$(python_run -m pkgcontract.access acl-args | sha256sum | cut -c1-16)
    if [ "$(cat "$marker")" != "$grants" ]; then
      kafka_acls ""
      echo "$grants" > "$marker"
      log "ACLs granted again: pkgcontract.access changed"
    fi
    return
  fi
  umask 077
  : > "$users_env.new"
  for user in $(python_run -m pkgcontract.access users); do
    password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
      java "${java_opts[@]}" kafka.admin.ConfigCommand $(admin_tool_args) \
        --alter --entity-type users --entity-name "$user" \
        --add-config "$mechanism=[password=$password]" >/dev/null 2>&1 \
        || die "could not add the $mechanism user $user"
    done
    echo "KAFKA_USER_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD=$password" >> "$users_env.new"
  done
  mv "$users_env.new" "$users_env"
  chmod 600 "$users_env"
  umask 022
  kafka_acls ""
  python_run -m pkgcontract.access acl-args | sha256sum | cut -c1-16 > "$marker"
  log "service users $(python_run -m pkgcontract.access users | tr '\n' ' ')added with their ACLs; passwords in $users_env"
}

# ACLs of pkgcontract.access for the topics under a prefix (the e2e tests' own).
kafka_acls() {
  local prefix="$1" line
  python_run -m pkgcontract.access acl-args --prefix "$prefix" | while read -r line; do
    # shellcheck disable=SC2086
    java "${java_opts[@]}" org.apache.kafka.tools.AclCommand $(admin_tool_args) $line >/dev/null \
      || die "could not add ACLs: $line"
  done
}

# Secrets the broker's files hold (keystore and admin passwords): readable by the owner only.
kafka_protect_secrets() {
  chmod 600 "$kafka_home/server.properties" 2>/dev/null || true
  chmod 600 "$kafka_tls"/*.p12 2>/dev/null || true
  [ -f "$users_env" ] && chmod 600 "$users_env"
  [ -f "$secrets_env" ] && chmod 600 "$secrets_env"
  return 0
}

java_opts=()
set_java_opts() {
  java_opts=(-Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:ActiveProcessorCount=2 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$kafka_home/log4j2.properties" -Dkafka.logs.dir="$kafka_home"
    -cp "$kafka_lib/*")
}

kafka_up() {
  if kafka_running; then
    log "Kafka already running (pid $(cat "$kafka_pid")) on 127.0.0.1:$KAFKA_PORT"
    set_java_opts; kafka_scram_users; kafka_service_users; kafka_protect_secrets; return
  fi
  if port_open "$KAFKA_PORT"; then
    log "something already listens on 127.0.0.1:$KAFKA_PORT; using it as the broker"
    return
  fi
  kafka_fetch
  kafka_tls_files
  kafka_write_config
  set_java_opts
  if [ ! -f "$kafka_data/meta.properties" ]; then
    log "formatting KRaft storage in $kafka_data"
    local cluster_id
    cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid | tail -n 1)"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$kafka_home/server.properties" --ignore-formatted >/dev/null \
      || die "formatting KRaft storage failed"
  fi
  log "starting Kafka 4.3.1 on 127.0.0.1:$KAFKA_PORT (heap $KAFKA_HEAP)"
  local started
  started=$(date +%s%3N)
  java "${java_opts[@]}" kafka.Kafka "$kafka_home/server.properties" >"$kafka_log" 2>&1 </dev/null &
  echo $! > "$kafka_pid"
  disown
  if ! admin_python "$here/wait_kafka.py" "$(admin_bootstrap)" 90; then
    log "broker did not answer; last lines of $kafka_log:"
    tail -n 40 "$kafka_log" >&2 || true
    kafka_down
    die "Kafka failed to start"
  fi
  log "Kafka answered after $(( $(date +%s%3N) - started )) ms"
  kafka_scram_users
  kafka_service_users
  kafka_protect_secrets
}

kafka_down() {
  if ! kafka_running; then rm -f "$kafka_pid"; return; fi
  local pid; pid="$(cat "$kafka_pid")"
  log "stopping Kafka (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$kafka_pid"
}

# ---------------------------------------------------------------- PostgreSQL
pg_answers() { as_postgres psql -p "$PGPORT" -tAc 'select 1' >/dev/null 2>&1; }

pg_install() {
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then return; fi
  log "installing PostgreSQL from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
    || die "apt-get install postgresql failed"
}

pg_up() {
  if pg_answers; then log "PostgreSQL already answers on port $PGPORT"; else
    pg_install
    local version cluster
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    cluster="$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1==v {print $2; exit}')"
    if [ -z "$cluster" ]; then
      cluster=main
      log "creating PostgreSQL $version cluster '$cluster'"
      as_root pg_createcluster "$version" "$cluster" -p "$PGPORT" >/dev/null
    fi
    as_root install -m 644 "$here/postgresql.conf" "/etc/postgresql/$version/$cluster/conf.d/packages.conf"
    log "starting PostgreSQL $version/$cluster (sized by deploy/local/postgresql.conf)"
    as_root pg_ctlcluster "$version" "$cluster" start
    mkdir -p "$cache"
    echo "$version $cluster" > "$pg_marker"
    for _ in $(seq 1 60); do pg_answers && break; sleep 0.5; done
    pg_answers || die "PostgreSQL did not answer on port $PGPORT"
  fi
  pg_provision
}

pg_provision() {
  # One database owned by an admin role (tests and tooling), then the services' roles.
  as_postgres psql -p "$PGPORT" -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'packages') THEN
    CREATE ROLE packages LOGIN CREATEDB PASSWORD 'packages';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER packages'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB') \gexec
SQL
  as_postgres psql -p "$PGPORT" -d "$PG_DB" -v ON_ERROR_STOP=1 -q -f - >/dev/null \
    < "$here/../postgres/roles.sql"
}

pg_down() {
  if [ ! -f "$pg_marker" ]; then log "PostgreSQL was not started by this script; leaving it"; return; fi
  local version cluster
  read -r version cluster < "$pg_marker"
  log "stopping PostgreSQL $version/$cluster"
  as_root pg_ctlcluster "$version" "$cluster" stop || true
  rm -f "$pg_marker"
}

# ---------------------------------------------------------------- topics
topics_up() {
  log "creating the contract's topics"
  admin_python -m pkgshared.topic_admin create --bootstrap "$(admin_bootstrap)" >&2
}

print_env() {
  if [ "$KAFKA_LOCAL_PLAINTEXT" = "0" ]; then
    echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_SASL_PORT KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
    echo "export KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=$sasl_user KAFKA_SASL_PASSWORD=$sasl_password"
  else
    echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
  fi
  echo "export DATABASE_URL=postgresql://packages:packages@127.0.0.1:$PGPORT/$PG_DB?sslmode=disable"
}

case "${1:-}" in
  up|kafka-up|acls|env) secrets_load ;;
esac
case "${1:-}" in
  up)
    # Only the settings go to stdout (callers eval them): whatever the tools print on the way
    # (pg_ctlcluster's "Removed stale pid file.", say) goes to stderr with the log.
    # Not with a saved descriptor: Kafka and PostgreSQL, started here, would hold it open and
    # the caller's $(...) would never end.
    { pg_up; kafka_up; topics_up; } >&2
    print_env ;;
  down) kafka_down; pg_down ;;
  kafka-up) kafka_up ;;
  acls) set_java_opts; kafka_acls "${2:?usage: $0 acls TOPIC_PREFIX}" ;;
  kafka-down) kafka_down ;;
  pg-up) pg_up ;;
  pg-restart)
    # For the reliability tests: only a cluster this script started is restarted.
    [ -f "$pg_marker" ] || die "PostgreSQL was not started by this script; not restarting it"
    read -r version cluster < "$pg_marker"
    as_root install -m 644 "$here/postgresql.conf" "/etc/postgresql/$version/$cluster/conf.d/packages.conf"
    as_root pg_ctlcluster "$version" "$cluster" restart -m fast
    for _ in $(seq 1 60); do pg_answers && break; sleep 0.5; done ;;
  fetch) kafka_fetch ;;
  status)
    if kafka_running; then echo "kafka: running (pid $(cat "$kafka_pid"))"; else echo "kafka: stopped"; fi
    if pg_answers; then echo "postgres: answers on $PGPORT"; else echo "postgres: not answering"; fi ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|status|env|fetch|kafka-up|kafka-down|pg-up|pg-restart" >&2; exit 2 ;;
esac
