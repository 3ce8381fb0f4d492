#!/usr/bin/env bash
# Installs the Debian 12 packages the demo bed, the tests and the benchmarks need, if missing.
# Debian's maintainer scripts would start etcd, PgBouncer and HAProxy on their default ports; a
# temporary policy-rc.d stops that (removed afterwards only if we created it).
set -euo pipefail

# The bed (PostgreSQL, etcd, Patroni), the clients the tests drive (psql, pgbench, psycopg2, psycopg 3, pgJDBC),
# openssl for the demo certificates, and the peers the benchmarks compare with (PgBouncer, HAProxy).
packages=(postgresql-15 postgresql-client-15 etcd-server etcd-client patroni python3-etcd
          python3-psycopg2 python3-psycopg libpostgresql-jdbc-java openssl pgbouncer haproxy curl procps)
# pgJDBC needs a Java runtime; any will do.
command -v java >/dev/null || packages+=(default-jre-headless)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d' EXIT

echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
