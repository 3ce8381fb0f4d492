#!/usr/bin/env bash
# Shared by bench/throughput and bench/drill: a bench bed (deploy/local/bed.sh) and the three proxies
# compared on it, all on loopback from BED_PORT_BASE (14300):
#   PgRouter    read-write listeners: 14340 transaction pool, 14341 session pool (database app_session, size 64); admin 14380
#   PgBouncer   14350, transaction pool of 20, + a leader watcher that rewrites its [databases] and RELOADs
#   HAProxy     14351 to the member whose Patroni says 200 on GET /primary (Patroni's sample config); stats 14352
# Every process is started detached with a pid file under $BED_DIR/pids and stopped through it, never by name.
#
# Sourced by the scripts (they set -euo pipefail); also runnable by hand:
#   bench/lib.sh start [--sync]   bed + publish + all proxies        bench/lib.sh stop   everything, by pid files
#   bench/lib.sh status
# Everything goes under BED_DIR (/tmp/pgrouter-bench); bed.sh wipes it on start, so bench_save_logs
# copies the logs to bench/results/raw/ before a bed is stopped.

BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_HERE/.." && pwd)
export BED_DIR=${BED_DIR:-/tmp/pgrouter-bench}
export BED_PORT_BASE=${BED_PORT_BASE:-14300}
export BED_SYNC=${BED_SYNC:-0}
BED=$BENCH_ROOT/deploy/local/bed.sh
PG_BIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3   # Debian's python3 has psycopg2; a pyenv python3 earlier on PATH does not

PGR_TX_PORT=$((BED_PORT_BASE + 40))
PGR_SESSION_PORT=$((BED_PORT_BASE + 41))
PGR_ADMIN_PORT=$((BED_PORT_BASE + 80))
PGB_PORT=$((BED_PORT_BASE + 50))
HAP_PORT=$((BED_PORT_BASE + 51))
HAP_STATS_PORT=$((BED_PORT_BASE + 52))
ETCD_URL=http://127.0.0.1:$BED_PORT_BASE
POOL_SIZE=${POOL_SIZE:-20}
# Session pooling seats one client per server connection: enough for the largest run (64 clients).
SESSION_POOL_SIZE=${SESSION_POOL_SIZE:-64}
PGR_PUBLISH=$BENCH_ROOT/.local/bench-pgrouter
WORK=$BED_DIR/bench          # configs and pgbouncer's unix socket
# shellcheck disable=SC2034  # used by the scripts that source this file
RAW_ROOT=$BENCH_ROOT/bench/results/raw

# No TLS anywhere in the comparison (clients, proxies to servers): the bench measures proxying, and
# PgBouncer/HAProxy would otherwise get a different deal than PgRouter.
export PGSSLMODE=disable PGCONNECT_TIMEOUT=5

if [ "$(id -u)" -eq 0 ]; then
  AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)   # PgBouncer refuses to run as root
else
  AS_PG=()
fi

blog() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bdie() { blog "ERROR: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
pg_port() { echo $((BED_PORT_BASE + 10 + ${1#pg})); }
rest_port() { echo $((BED_PORT_BASE + 20 + ${1#pg})); }

# Leader name and port as bed.sh sees them (etcd's leader key).
leader_name() { "$BED" leader 2>/dev/null | cut -d' ' -f1; }
leader_port() { "$BED" leader 2>/dev/null | cut -d' ' -f2; }

psql_app() {  # PORT PSQL-ARGS...: as the application user, straight to a server or through a proxy
  local port=$1; shift
  PGPASSWORD=app "$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U app -d app "$@"
}

port_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() {  # SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { blog "gave up waiting for $what"; return 1; }
    sleep 0.2
  done
}

# Pid from $BED_DIR/pids/NAME.pid if that process still runs and its command line names MARK
# (so a recycled pid is never signalled).
bench_pid() {  # NAME MARK
  local f=$BED_DIR/pids/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}

# Alive and not a zombie waiting for its parent (or init) to reap it.
alive() { local s; s=$(2>/dev/null <"/proc/$1/stat") || return 1; s=${s##*) }; [ "${s%% *}" != Z ]; }

stop_pidfile() {  # NAME MARK
  local pid
  if pid=$(bench_pid "$1" "$2"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then blog "$1 ($pid) ignored TERM for 10 s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    blog "stopped $1 ($pid)"
  fi
  rm -f "$BED_DIR/pids/$1.pid"
}

# Detached (own session: a Ctrl-C in the caller must not reach it), output to logs/NAME.log.
# setsid and setpriv exec in place, so $! is the program's own pid, the one whose CPU we read.
bench_launch() {  # NAME COMMAND...
  local name=$1; shift
  setsid "$@" >>"$BED_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$BED_DIR/pids/$name.pid"
}

# CPU seconds (user + system, all threads) a process has used so far.
proc_cpu() {  # PID
  local stat; stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }   # fields after "(comm) "; utime and stime are fields 14 and 15 of the whole line
  awk -v t="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($12 + $13) / t }' <<<"$stat"
}

# CPU jiffies used so far by everything this bench runs: the bed (postmasters with their live
# children and the dead ones they reaped, Patroni, etcd), the proxies and the watcher, and what this
# shell has reaped (pgbench). Compared with /proc/stat it tells how much CPU others took meanwhile.
bench_jiffies() {
  local pids=() kids n m pid pm
  for n in etcd pg1 pg2 pg3 pgrouter pgbouncer pgbouncer-watcher haproxy; do
    pid=$(bench_pid "$n" "$BED_DIR/") && pids+=("$pid")
  done
  for m in pg1 pg2 pg3; do
    pm=$(head -1 "$BED_DIR/data/$m/postmaster.pid" 2>/dev/null) || continue
    { [ -n "$pm" ] && alive "$pm"; } || continue
    mapfile -t kids < <(pgrep -P "$pm")
    pids+=("$pm" "${kids[@]}")
  done
  { for pid in "${pids[@]}"; do cat "/proc/$pid/stat" 2>/dev/null; echo; done; } |
    awk -v self="$(cat /proc/$$/stat)" '
      function add(line,   r, f) { r = line; sub(/^.*\) /, "", r); split(r, f, " "); return f[12] + f[13] + f[14] + f[15] }
      NF { total += add($0) }
      END { split(self, _, ") "); s = self; sub(/^.*\) /, "", s); split(s, g, " "); printf "%d\n", total + g[14] + g[15] }'
}

# Host jiffies over all cores: busy (all but idle and iowait), busy in processes (user, nice, system;
# plus steal, which is other guests' work) comparable with bench_jiffies, and total.
host_jiffies() { awk '/^cpu / { total = 0; for (i = 2; i <= 9; i++) total += $i; print total - $5 - $6, $2 + $3 + $4 + $9, total; exit }' /proc/stat; }

# ---------------------------------------------------------------------------------------------- bed
bench_bed_start() {
  blog "starting bed in $BED_DIR (base $BED_PORT_BASE, synchronous_mode=$BED_SYNC)"
  "$BED" start >&2
  mkdir -p "$WORK"
  [ ${#AS_PG[@]} -eq 0 ] || chown postgres: "$WORK"
}

# ------------------------------------------------------------------------------------------ PgRouter
pgrouter_publish() {
  blog "publishing PgRouter (Release) to $PGR_PUBLISH"
  dotnet publish "$BENCH_ROOT/src/PgRouter" -c Release -o "$PGR_PUBLISH" --nologo -v quiet >&2
}

pgrouter_start() {
  local cfg=$WORK/pgrouter.json
  # A config file of its own (--config replaces ./appsettings.json): nothing inherited from the demo's
  # listeners on 6432/6433. Plain TCP on both sides, as for the other proxies.
  cat >"$cfg" <<EOF
{
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft": "Warning" } },
  "PgRouter": {
    "Listeners": [
      { "Name": "rw-transaction", "Address": "127.0.0.1", "Port": $PGR_TX_PORT, "Target": "primary", "PoolMode": "transaction", "ClientTls": "disable" },
      { "Name": "rw-session", "Address": "127.0.0.1", "Port": $PGR_SESSION_PORT, "Target": "primary", "PoolMode": "session", "ClientTls": "disable" }
    ],
    "Databases": {
      "*": { "Cluster": "demo" },
      "app_session": { "Cluster": "demo", "Database": "app", "Pool": { "Mode": "session", "Size": $SESSION_POOL_SIZE } }
    },
    "Clusters": { "demo": { "Source": "etcd", "Scope": "demo" } },
    "Etcd": { "Endpoints": [ "$ETCD_URL" ], "Namespace": "/service" },
    "Monitor": { "User": "pgrouter_monitor", "Password": "monitor", "Database": "postgres" },
    "Pooling": { "Size": $POOL_SIZE },
    "Auth": { "Method": "scram-sha-256", "UsersFile": "$BED_DIR/userlist.txt" },
    "ServerTls": { "Mode": "disable" },
    "Admin": { "Urls": "http://127.0.0.1:$PGR_ADMIN_PORT" }
  }
}
EOF
  [ -x "$PGR_PUBLISH/pgrouter" ] || pgrouter_publish
  (cd "$WORK" && bench_launch pgrouter "$PGR_PUBLISH/pgrouter" --config "$cfg")
  local pid; pid=$(<"$BED_DIR/pids/pgrouter.pid")
  pgrouter_ready() {
    kill -0 "$pid" 2>/dev/null || { tail -20 "$BED_DIR/logs/pgrouter.log" >&2; bdie "PgRouter exited"; }
    curl -sf --max-time 2 "http://127.0.0.1:$PGR_ADMIN_PORT/clusters/demo" | grep -q '"primaryStatus":"confirmed"'
  }
  wait_until 60 "PgRouter to confirm the primary" pgrouter_ready || bdie "PgRouter did not find the primary (log: $BED_DIR/logs/pgrouter.log)"
  blog "PgRouter $pid on $PGR_TX_PORT (transaction) and $PGR_SESSION_PORT (session), admin $PGR_ADMIN_PORT"
}

# ----------------------------------------------------------------------------------------- PgBouncer
# [databases] is the only part the watcher rewrites; the rest is fixed here.
pgbouncer_write_ini() {  # HOST PORT FILE
  cat >"$3" <<EOF
;; written by bench (lib.sh, pgbouncer_watcher.py): host/port follow the Patroni leader
[databases]
app = host=$1 port=$2 dbname=app

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir = $WORK
auth_type = scram-sha-256
auth_file = $WORK/pgbouncer-userlist.txt
admin_users = pgbadmin
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 1000
server_tls_sslmode = disable
ignore_startup_parameters = extra_float_digits
EOF
}

pgbouncer_start() {
  local lp; lp=$(leader_port) || bdie "no leader"
  # The same SCRAM secret PostgreSQL stores for app (PgBouncer logs in to servers with the client's
  # recovered keys); the admin console login of the watcher gets a plain password.
  { cat "$BED_DIR/userlist.txt"; echo '"pgbadmin" "pgbadmin"'; } >"$WORK/pgbouncer-userlist.txt"
  pgbouncer_write_ini 127.0.0.1 "$lp" "$WORK/pgbouncer.ini"
  [ ${#AS_PG[@]} -eq 0 ] || chown postgres: "$WORK/pgbouncer-userlist.txt" "$WORK/pgbouncer.ini"
  chmod 600 "$WORK/pgbouncer-userlist.txt"
  bench_launch pgbouncer "${AS_PG[@]}" /usr/sbin/pgbouncer "$WORK/pgbouncer.ini"
  wait_until 20 "PgBouncer on $PGB_PORT" port_open "$PGB_PORT" || bdie "PgBouncer did not start (log: $BED_DIR/logs/pgbouncer.log)"
  bench_launch pgbouncer-watcher "$PY" "$BENCH_HERE/pgbouncer_watcher.py" --etcd "$ETCD_URL" --prefix /service/demo \
    --ini "$WORK/pgbouncer.ini" --admin-port "$PGB_PORT" --bed-dir "$BED_DIR"
  wait_until 20 "the watcher to connect" grep -q 'watching' "$BED_DIR/logs/pgbouncer-watcher.log" ||
    bdie "watcher did not start (log: $BED_DIR/logs/pgbouncer-watcher.log)"
  blog "PgBouncer $(<"$BED_DIR/pids/pgbouncer.pid") on $PGB_PORT -> 127.0.0.1:$lp, watcher $(<"$BED_DIR/pids/pgbouncer-watcher.pid")"
}

# ------------------------------------------------------------------------------------------- HAProxy
# Patroni's documented setup: TCP mode, health check against each member's REST API, only the member
# answering 200 on /primary gets traffic; sessions to a member marked down are shut. Timeouts,
# retries and maxconn are those of Patroni's sample haproxy.cfg.
haproxy_start() {
  local m cfg=$WORK/haproxy.cfg
  {
    cat <<EOF
global
    maxconn 100
    log stdout format iso local0 notice

defaults
    log global
    mode tcp
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
    timeout check 5s

listen stats
    mode http
    bind 127.0.0.1:$HAP_STATS_PORT
    stats enable
    stats uri /

listen primary
    bind 127.0.0.1:$HAP_PORT
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
EOF
    for m in pg1 pg2 pg3; do
      echo "    server $m 127.0.0.1:$(pg_port $m) maxconn 100 check port $(rest_port $m)"
    done
  } >"$cfg"
  /usr/sbin/haproxy -c -q -f "$cfg" || bdie "haproxy rejects $cfg"
  bench_launch haproxy /usr/sbin/haproxy -db -f "$cfg"
  # HAProxy starts with every server UP; the replicas only drop out after fall 3 x inter 3s.
  wait_until 30 "HAProxy to route to the leader only" haproxy_converged || bdie "HAProxy does not route (log: $BED_DIR/logs/haproxy.log)"
  blog "HAProxy $(<"$BED_DIR/pids/haproxy.pid") on $HAP_PORT (stats http://127.0.0.1:$HAP_STATS_PORT/)"
}

# Servers HAProxy sends traffic to (UP in its stats), and whether that is exactly the leader.
haproxy_up() { curl -sf --max-time 2 "http://127.0.0.1:$HAP_STATS_PORT/;csv" | awk -F, '$1=="primary" && $2 ~ /^pg/ && $18=="UP" {print $2}'; }
haproxy_converged() { local l; l=$(leader_name) && [ -n "$l" ] && [ "$(haproxy_up)" = "$l" ]; }

# --------------------------------------------------------------------------------------- everything
bench_start_all() {
  bench_stop_all
  bench_bed_start
  pgrouter_start
  pgbouncer_start
  haproxy_start
}

bench_stop_proxies() {
  stop_pidfile haproxy "$BED_DIR/"
  stop_pidfile pgbouncer-watcher "$BED_DIR/"
  stop_pidfile pgbouncer "$BED_DIR/"
  stop_pidfile pgrouter "$BED_DIR/"
}

# Copies the logs of the bed and the proxies (they die with BED_DIR on the next bed start).
bench_save_logs() {  # DEST-DIR
  [ -d "$BED_DIR/logs" ] || return 0
  mkdir -p "$1"
  cp -r "$BED_DIR/logs/." "$1/" 2>/dev/null || true
  cp "$WORK"/*.ini "$WORK"/*.cfg "$WORK"/*.json "$1/" 2>/dev/null || true
}

bench_stop_all() {
  bench_stop_proxies
  if [ -f "$BED_DIR/pg1.yml" ]; then "$BED" stop >&2 || true; fi
}

bench_status() {
  local n
  for n in pgrouter pgbouncer pgbouncer-watcher haproxy; do
    printf '%-18s %s\n' "$n" "$(bench_pid "$n" "$BED_DIR" || echo 'not running')"
  done
  "$BED" leader 2>/dev/null || echo "bed: no leader"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case ${1:-} in
    start) [ "${2:-}" = --sync ] && export BED_SYNC=1; pgrouter_publish; bench_start_all ;;
    stop) bench_stop_all ;;
    status) bench_status ;;
    *) echo "usage: bench/lib.sh start [--sync] | stop | status" >&2; exit 2 ;;
  esac
fi
