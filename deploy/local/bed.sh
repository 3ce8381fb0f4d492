#!/usr/bin/env bash
# Local test bed on loopback: one etcd and a 3-member Patroni cluster (scope "demo", PostgreSQL 15).
# Several beds can run side by side; each one is defined by its environment:
#   BED_DIR        all state: etcd data, PG data, patroni yml, logs, pids, sockets (/tmp/pgrouter-demo)
#   BED_PORT_BASE  etcd client = BASE, peer = BASE+1; member pgN: PostgreSQL BASE+10+N,
#                  Patroni REST BASE+20+N (12300)
#   BED_SYNC       1 = bootstrap with synchronous_mode (0)
# Commands: start | stop | list | leader | ready | env | switchover [CANDIDATE] | etcd-stop | etcd-start |
#           kill-member NAME | start-member NAME | patronictl ARGS...
# See docs/patroni-etcd-protocol.md section 9 for the pitfalls this script works around.
set -euo pipefail

BED_DIR=${BED_DIR:-/tmp/pgrouter-demo}
BED_DIR=${BED_DIR%/}
[[ $BED_DIR == /* ]] || BED_DIR=$PWD/$BED_DIR    # Patroni and etcd run from another cwd
BED_PORT_BASE=${BED_PORT_BASE:-12300}
BED_SYNC=${BED_SYNC:-0}

die() { echo "bed.sh: $*" >&2; exit 1; }
say() { echo "bed.sh: $*"; }
[[ $BED_PORT_BASE =~ ^[0-9]+$ ]] || die "BED_PORT_BASE must be a number"
[[ $BED_SYNC == [01] ]] || die "BED_SYNC must be 0 or 1"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
MEMBERS=(pg1 pg2 pg3)
SCOPE=demo
NAMESPACE=/service
ETCD_PORT=$BED_PORT_BASE
ETCD_PEER_PORT=$((BED_PORT_BASE + 1))
ETCD_URL=http://127.0.0.1:$ETCD_PORT
pg_port()   { echo $((BED_PORT_BASE + 10 + ${1#pg})); }
rest_port() { echo $((BED_PORT_BASE + 20 + ${1#pg})); }
all_ports() { local m; echo "$ETCD_PORT $ETCD_PEER_PORT"; for m in "${MEMBERS[@]}"; do echo "$(pg_port "$m") $(rest_port "$m")"; done; }

# PostgreSQL and Patroni refuse to run as root, so as root they run as the postgres OS user.
# setpriv execs in place (runuser forks and stays as a parent), so $! is Patroni's own pid.
if [ "$(id -u)" -eq 0 ]; then
  PG_USER=postgres
  AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
else
  PG_USER=$(id -un)
  AS_PG=()
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%01d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# Polls a command every 0.5 s until it succeeds; fails after a deadline (which ends the script
# unless the caller handles it).
wait_for() {  # SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2 deadline=$((SECONDS + $1)); shift 2
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "bed.sh: gave up after $secs s waiting for $what (logs in $BED_DIR/logs)" >&2
      return 1
    fi
    sleep 0.5
  done
}

# Pid of a process this bed started (etcd, pgN), if it still runs. Its command line must name
# BED_DIR, so a recycled pid never gets us to signal a stranger.
running_pid() {  # NAME
  local f=$BED_DIR/pids/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$BED_DIR/" || return 1
  echo "$pid"
}

# Pid of a member's postmaster, if it runs (it can outlive a killed Patroni).
postmaster_pid() {  # MEMBER
  local data=$BED_DIR/data/$1 pid
  [ -r "$data/postmaster.pid" ] || return 1
  pid=$(head -1 "$data/postmaster.pid")
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$data" || return 1
  echo "$pid"
}

none_alive() { local p; for p; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

# Starts a command detached in its own session (a Ctrl-C or a job kill in the caller's terminal
# must not take the bed down), output to logs/NAME.log, pid to pids/NAME.pid.
launch() {  # NAME COMMAND...
  local name=$1; shift
  setsid "$@" >>"$BED_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$BED_DIR/pids/$name.pid"
}

psql_su() {  # PORT PSQL-ARGS...
  local port=$1; shift
  PGPASSWORD=postgres PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

ctl() { /usr/bin/python3 /usr/bin/patronictl -c "$BED_DIR/pg1.yml" "$@"; }

etcd_get() {  # KEY under the cluster's prefix
  ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=3s \
    get --print-value-only "$NAMESPACE/$SCOPE/$1" 2>/dev/null
}
leader_name() { etcd_get leader; }

# Succeeds when etcd names a leader other than EXCLUDED and that server accepts writes.
writable_leader() {  # [EXCLUDED]
  local l; l=$(leader_name) && [ -n "$l" ] && [ "$l" != "${1:-}" ] &&
    [ "$(psql_su "$(pg_port "$l")" -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]
}

healthy() { curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$(rest_port "$1")/health"; }

# After an etcd outage the replicas keep following the leader that kept them in failsafe mode
# until that state expires (ttl, ~10 s after etcd is back), ignoring leader changes in etcd.
none_in_failsafe() {
  local m; for m in "${MEMBERS[@]}"; do
    ! curl -sf --max-time 3 "http://127.0.0.1:$(rest_port "$m")/patroni" | grep -q '"failsafe_mode_is_active": true' || return 1
  done
}

# A member is ready when it is the leader and accepts writes, or streams from the leader. (After a
# crash Patroni 3.0.2 first starts an old primary as a secondary, then stops it for pg_rewind: its
# /health alone says "running" too early.)
member_ready() {  # MEMBER
  local l; l=$(leader_name) && [ -n "$l" ] && healthy "$1" || return 1
  if [ "$l" = "$1" ]; then writable_leader ""; return; fi
  [ "$(psql_su "$(pg_port "$l")" -c "select count(*) from pg_stat_replication
        where application_name = '$1' and state = 'streaming'" 2>/dev/null)" = 1 ]
}

# With BED_SYNC=1 the sync key must also name a standby: Patroni writes it a cycle after
# replication starts and refuses switchovers until then.
cluster_ready() {
  local m; for m in "${MEMBERS[@]}"; do member_ready "$m" || return 1; done
  [ "$BED_SYNC" = 0 ] || etcd_get sync | grep -q '"sync_standby": *"pg'
}

bed_running() {
  local m; running_pid etcd >/dev/null && return 0
  for m in "${MEMBERS[@]}"; do running_pid "$m" >/dev/null || postmaster_pid "$m" >/dev/null && return 0; done
  return 1
}

require_bed() { [ -f "$BED_DIR/pg1.yml" ] || die "no bed in $BED_DIR (run: bed.sh start)"; }
require_member() { [[ " ${MEMBERS[*]} " == *" ${1:-} "* ]] || die "unknown member '${1:-}' (expected: ${MEMBERS[*]})"; }

write_config() {  # MEMBER
  local m=$1 sync=false
  [ "$BED_SYNC" = 1 ] && sync=true
  cat >"$BED_DIR/$m.yml" <<EOF
scope: $SCOPE
namespace: $NAMESPACE
name: $m
restapi:
  listen: 127.0.0.1:$(rest_port "$m")
  connect_address: 127.0.0.1:$(rest_port "$m")
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
  protocol: http
bootstrap:
  dcs:  # applied once, at bootstrap; later changes go through 'patronictl edit-config'
    ttl: 10             # loop_wait + 2 * retry_timeout <= ttl; a crash failover takes ~10 s
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    failsafe_mode: true # an etcd outage must not demote a primary that still sees all members
    synchronous_mode: $sync
    postgresql:
      use_pg_rewind: true  # a crashed old primary rejoins as a replica
      parameters:
        max_connections: 300
        wal_keep_size: 256MB
        hot_standby: "on"
        password_encryption: scram-sha-256
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
postgresql:
  listen: 127.0.0.1:$(pg_port "$m")
  connect_address: 127.0.0.1:$(pg_port "$m")
  data_dir: $BED_DIR/data/$m
  bin_dir: $PG_BIN
  pgpass: $BED_DIR/run/$m.pgpass
  authentication:  # no rewind user: Patroni then rewinds as the superuser
    superuser: {username: postgres, password: postgres}
    replication: {username: replicator, password: replicator}
  parameters:
    unix_socket_directories: $BED_DIR/run
    ssl: "on"
    ssl_cert_file: $BED_DIR/tls/server.crt
    ssl_key_file: $BED_DIR/tls/server.key
    logging_collector: "on"
    log_directory: $BED_DIR/logs
    log_filename: $m-postgresql.log
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 scram-sha-256
    - host replication replicator 127.0.0.1/32 scram-sha-256
EOF
}

start_etcd() {
  local peer=http://127.0.0.1:$ETCD_PEER_PORT
  # On an existing data dir (etcd-start) the --initial-* flags are ignored.
  launch etcd env -i PATH=/usr/bin:/bin /usr/bin/etcd --name bed --data-dir "$BED_DIR/etcd" \
    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "bed=$peer" --initial-cluster-token "bed-$BED_PORT_BASE" --logger zap
  wait_for 30 "etcd to answer on $ETCD_URL" curl -sf -o /dev/null --max-time 2 "$ETCD_URL/version"
}

# Clean environment: an inherited PGPASSWORD would override Patroni's pgpass and break
# pg_basebackup; LANG makes initdb pick UTF-8. Debian's python3 has Patroni's modules.
start_patroni() {  # MEMBER
  launch "$1" "${AS_PG[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$BED_DIR" \
    /usr/bin/python3 /usr/bin/patroni "$BED_DIR/$1.yml"
}

# Sends SIGNAL to the bed's processes NAME..., waits up to SECONDS for them to exit.
signal_and_wait() {  # SIGNAL SECONDS NAME...
  local sig=$1 secs=$2 pids=() n pid; shift 2
  for n; do
    if pid=$(running_pid "$n"); then kill "-$sig" "$pid"; pids+=("$pid"); fi
  done
  [ ${#pids[@]} -eq 0 ] || wait_for "$secs" "$* to exit" none_alive "${pids[@]}"
}

summary() {
  local l m; l=$(leader_name) || l=
  say "bed $BED_DIR: etcd $ETCD_URL, leader ${l:-none}"
  for m in "${MEMBERS[@]}"; do
    printf '  %s  postgres 127.0.0.1:%s  rest 127.0.0.1:%s%s\n' "$m" "$(pg_port "$m")" "$(rest_port "$m")" \
      "$([ "$m" = "$l" ] && echo '  (leader)')"
  done
  echo "  superuser postgres/postgres, app/app (database app), report/report, pgrouter_monitor/monitor, pgrouter_auth/auth"
  echo "  TLS: $BED_DIR/tls (ca.crt, server.crt for 127.0.0.1, client.crt for app); users file $BED_DIR/userlist.txt; logs in $BED_DIR/logs"
}

# A demo CA, a certificate for 127.0.0.1/localhost (PostgreSQL and PgRouter both use it) and a
# client certificate for the user app, all under BED_DIR/tls. Nothing here is fit for production.
make_certificates() {
  local d=$BED_DIR/tls
  mkdir -p "$d"
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  key "$d/ca.key"
  openssl req -x509 -new -key "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=PgRouter demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  sign() {  # NAME SUBJECT EXTENSIONS
    key "$d/$1.key"
    openssl req -new -key "$d/$1.key" -subj "$2" 2>/dev/null |
      openssl x509 -req -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 825 -out "$d/$1.crt" \
        -extfile <(printf '%s\n' "$3") 2>/dev/null
  }
  sign server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
  sign client "/CN=app" "extendedKeyUsage=clientAuth"
  chmod 600 "$d"/*.key
}

# Users file for PgRouter, PgBouncer's format, with the SCRAM secrets PostgreSQL stores: no password
# in it. Only app is listed; other users are found by PgRouter's auth query.
write_users_file() {
  psql_su "$(pg_port "$(leader_name)")" -c \
    "select format('\"%s\" \"%s\"', rolname, rolpassword) from pg_authid where rolname = 'app'" >"$BED_DIR/userlist.txt"
}

cmd_start() {
  "$HERE/install-packages.sh"
  bed_running && die "a bed already runs in $BED_DIR (stop it first: bed.sh stop)"
  local p m t0
  for p in $(all_ports); do
    if (: <>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p is in use (another bed with BED_PORT_BASE=$BED_PORT_BASE?)"
    fi
  done
  # Unix socket paths are limited to 107 bytes (.../run/.s.PGSQL.NNNNN).
  [ ${#BED_DIR} -le 80 ] || die "BED_DIR is too long for unix socket paths: $BED_DIR"
  # Only ever wipe a directory that is empty or that a previous start created.
  if [ -d "$BED_DIR" ] && [ ! -e "$BED_DIR/.pgrouter-bed" ] && [ -n "$(ls -A "$BED_DIR")" ]; then
    die "refusing to wipe $BED_DIR: not empty and not a bed directory"
  fi
  rm -rf "$BED_DIR"
  mkdir -p "$BED_DIR"/{pids,logs,run,data}
  touch "$BED_DIR/.pgrouter-bed"
  make_certificates
  for m in "${MEMBERS[@]}"; do write_config "$m"; done
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$PG_USER:" "$BED_DIR"
    "${AS_PG[@]}" test -w "$BED_DIR/data" || die "user $PG_USER cannot write to $BED_DIR (check its parent directories)"
  fi

  t0=$(now_ms)
  start_etcd
  for m in "${MEMBERS[@]}"; do start_patroni "$m"; done
  wait_for 120 "a writable leader and two streaming replicas" cluster_ready ||
    die "bootstrap failed; 'bed.sh stop' stops what was started"
  say "cluster ready after $(since "$t0")"

  # Idempotent: CREATE only what is missing, then (re)set the passwords.
  psql_su "$(pg_port "$(leader_name)")" <<'SQL'
SELECT 'CREATE ROLE app' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') \gexec
SELECT 'CREATE ROLE pgrouter_monitor' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgrouter_monitor') \gexec
ALTER ROLE app LOGIN PASSWORD 'app';
-- pg_is_in_recovery(), pg_current_wal_lsn() and pg_last_wal_replay_lsn() need no grant.
ALTER ROLE pgrouter_monitor LOGIN PASSWORD 'monitor';
SELECT 'CREATE DATABASE app OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'app') \gexec
-- A second application user, known to PgRouter only through the auth query.
SELECT 'CREATE ROLE report' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'report') \gexec
ALTER ROLE report LOGIN PASSWORD 'report';
GRANT CONNECT ON DATABASE app TO report;
-- PgRouter's auth query: an unprivileged login that may call only this SECURITY DEFINER function.
SELECT 'CREATE ROLE pgrouter_auth' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgrouter_auth') \gexec
ALTER ROLE pgrouter_auth LOGIN PASSWORD 'auth';
CREATE SCHEMA IF NOT EXISTS pgrouter;
CREATE OR REPLACE FUNCTION pgrouter.get_auth(p_user text, OUT rolname text, OUT rolpassword text)
  RETURNS record LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
  $$ SELECT rolname::text, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END
     FROM pg_authid WHERE rolname = p_user AND rolcanlogin $$;
REVOKE ALL ON FUNCTION pgrouter.get_auth(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA pgrouter TO pgrouter_auth;
GRANT EXECUTE ON FUNCTION pgrouter.get_auth(text) TO pgrouter_auth;
SQL
  write_users_file
  summary
}

cmd_stop() {
  local m pid
  # Patroni stops its own PostgreSQL on SIGTERM (and takes ~4 s to exit).
  if ! signal_and_wait TERM 60 "${MEMBERS[@]}"; then
    signal_and_wait KILL 10 "${MEMBERS[@]}"
  fi
  for m in "${MEMBERS[@]}"; do
    if pid=$(postmaster_pid "$m"); then
      say "$m: postmaster $pid outlived Patroni, stopping it"
      "${AS_PG[@]}" "$PG_BIN/pg_ctl" stop -s -m immediate -D "$BED_DIR/data/$m"
    fi
  done
  signal_and_wait TERM 30 etcd
  say "bed $BED_DIR stopped"
}

cmd_etcd_stop() {
  require_bed
  running_pid etcd >/dev/null || die "etcd of $BED_DIR is not running"
  signal_and_wait KILL 10 etcd
  say "etcd killed"
}

cmd_etcd_start() {
  require_bed
  ! running_pid etcd >/dev/null || die "etcd of $BED_DIR already runs"
  start_etcd
  say "etcd answers on $ETCD_URL"
}

cmd_kill_member() {  # MEMBER
  require_member "${1:-}"; require_bed
  local m=$1 pid killed='' children
  if pid=$(running_pid "$m"); then kill -KILL "$pid"; killed+=" patroni:$pid"; fi
  # The postmaster together with its children, like a crash. (Each child has its own process
  # group, so a group kill would not reach them.)
  if pid=$(postmaster_pid "$m"); then
    mapfile -t children < <(pgrep -P "$pid")
    kill -KILL "$pid" "${children[@]}"; killed+=" postmaster:$pid"
  fi
  [ -n "$killed" ] || die "$m is not running"
  say "$m killed ($killed )"
}

cmd_start_member() {  # MEMBER
  require_member "${1:-}"; require_bed
  local m=$1 t0
  ! running_pid "$m" >/dev/null || die "$m already runs"
  t0=$(now_ms)
  start_patroni "$m"
  wait_for 120 "$m to rejoin the cluster" member_ready "$m" ||
    die "if $m's log says 'requested starting point ... is ahead of the WAL flush position', it diverged: bed.sh patronictl reinit $SCOPE $m --force"
  say "$m ready after $(since "$t0")"
}

cmd_switchover() {  # [CANDIDATE]
  require_bed
  local old t0 new out
  [ -z "${1:-}" ] || require_member "$1"
  old=$(leader_name || true)
  [ -n "$old" ] || die "no leader to switch over from"
  if ! none_in_failsafe; then
    say "waiting for the members to leave failsafe mode (else the switchover takes up to ttl longer)"
    wait_for 30 "members to leave failsafe mode" none_in_failsafe
  fi
  t0=$(now_ms)
  # patronictl 3.0.2 exits 0 even when the leader refuses ("Switchover failed, details: 412 ...").
  out=$(ctl switchover --leader "$old" ${1:+--candidate "$1"} --force 2>&1) || die "$out"
  echo "$out"
  ! grep -q 'failed, details:' <<<"$out" || die "switchover refused"
  wait_for 60 "a new writable leader" writable_leader "$old"
  new=$(leader_name)
  say "switchover $old -> $new: writable after $(since "$t0")"
  # Also wait for the replicas to follow the new timeline: if the new leader crashed before, a
  # replica still on the old timeline could be promoted to a second timeline with the same ID,
  # which the crashed leader (ahead on its own copy) could not rejoin without a reinit.
  wait_for 120 "all members to stream from $new" cluster_ready
  say "all members streaming from $new after $(since "$t0")"
}

cmd_leader() {
  local l; l=$(leader_name || true)
  [ -n "$l" ] || die "no leader (is etcd of $BED_DIR running?)"
  echo "$l $(pg_port "$l")"
}

cmd_env() {
  local m
  printf 'BED_DIR=%q\nBED_PORT_BASE=%s\nBED_SYNC=%s\nETCD_PORT=%s\nETCD_URL=%s\n' \
    "$BED_DIR" "$BED_PORT_BASE" "$BED_SYNC" "$ETCD_PORT" "$ETCD_URL"
  for m in "${MEMBERS[@]}"; do
    printf '%s_PORT=%s\n%s_REST_PORT=%s\n' "${m^^}" "$(pg_port "$m")" "${m^^}" "$(rest_port "$m")"
  done
}

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; [ $# -eq 0 ] || shift
case $cmd in
  start)        cmd_start ;;
  stop)         cmd_stop ;;
  etcd-stop)    cmd_etcd_stop ;;
  etcd-start)   cmd_etcd_start ;;
  kill-member)  cmd_kill_member "$@" ;;
  start-member) cmd_start_member "$@" ;;
  switchover)   cmd_switchover "$@" ;;
  leader)       cmd_leader ;;
  ready)        require_bed; wait_for 120 "a writable leader and two streaming replicas" cluster_ready ;;
  list)         require_bed; ctl list ;;
  patronictl)   require_bed; ctl "$@" ;;
  env)          cmd_env ;;
  *)            usage ;;
esac
