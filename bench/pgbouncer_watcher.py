#!/usr/bin/python3
"""Keeps PgBouncer pointed at the Patroni leader, the way consul-template or confd setups do it:
watch etcd's leader key (v3 JSON gateway), read the new leader's conn_url from its member key,
rewrite host/port of [databases] in pgbouncer.ini and RELOAD through the admin console.

While the leader key is absent (between the old leader's release and the new one's acquisition)
the old address is kept, as a template that waits for its key would.
Logs one line per event (UTC, ms) to stdout."""
import argparse
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

DB_LINE = re.compile(r"^(app = host=)(\S+)( port=)(\d+)(.*)$", re.M)


def log(msg):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    print(f"{now}Z {msg}", flush=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def post(url, body, timeout):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          # etcd ends the stream when it loses its leader instead of going quiet
                                          "Grpc-Metadata-hasleader": "true"})
    return urllib.request.urlopen(req, timeout=timeout)


def get_key(etcd, key):
    """Value (or None) and the store revision it was read at."""
    with post(f"{etcd}/v3/kv/range", {"key": b64(key)}, 3) as r:
        d = json.load(r)
    kvs = d.get("kvs") or []
    value = base64.b64decode(kvs[0]["value"]).decode() if kvs and "value" in kvs[0] else None
    return value, int(d["header"]["revision"])


def member_address(etcd, prefix, name):
    value, _ = get_key(etcd, f"{prefix}/members/{name}")
    if value is None:
        return None
    url = urllib.parse.urlparse(json.loads(value)["conn_url"])
    return url.hostname, url.port or 5432


class Bouncer:
    def __init__(self, ini, admin_port):
        self.ini, self.admin_port = ini, admin_port

    def current(self):
        m = DB_LINE.search(open(self.ini).read())
        return m.group(2), int(m.group(4))

    def point_to(self, host, port, why):
        if (host, port) == self.current():
            return
        text = open(self.ini).read()
        st = os.stat(self.ini)
        tmp = self.ini + ".tmp"
        with open(tmp, "w") as f:
            f.write(DB_LINE.sub(lambda m: f"{m.group(1)}{host}{m.group(3)}{port}{m.group(5)}", text))
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o777)
        os.replace(tmp, self.ini)
        t0 = time.time()
        for attempt in range(10):
            r = subprocess.run(["/usr/bin/psql", "-X", "-qAt", "-h", "127.0.0.1", "-p", str(self.admin_port),
                                "-U", "pgbadmin", "-d", "pgbouncer", "-c", "RELOAD"],
                               env={**os.environ, "PGPASSWORD": "pgbadmin", "PGSSLMODE": "disable"},
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                log(f"{why}: pgbouncer.ini -> {host}:{port}, RELOAD done in {1000 * (time.time() - t0):.0f} ms")
                return
            log(f"RELOAD failed (attempt {attempt + 1}): {r.stderr.strip()}")
            time.sleep(0.2)


def follow(args, bouncer):
    leader_key = f"{args.prefix}/leader"
    leader, revision = get_key(args.etcd, leader_key)
    if leader is None:
        log("no leader key; keeping the current address")
    else:
        addr = member_address(args.etcd, args.prefix, leader)
        if addr:
            bouncer.point_to(*addr, f"leader is {leader}")
    body = {"create_request": {"key": b64(leader_key), "start_revision": str(revision + 1)}}
    with post(f"{args.etcd}/v3/watch", body, None) as stream:
        for line in stream:
            msg = json.loads(line)
            if "error" in msg:
                raise RuntimeError(f"watch error: {msg['error']}")
            result = msg.get("result", {})
            if result.get("created"):
                log(f"watching {leader_key} from revision {revision + 1} (leader {leader}, pgbouncer -> "
                    f"{':'.join(map(str, bouncer.current()))})")
            if result.get("canceled"):
                raise RuntimeError(f"watch canceled: {result}")
            for event in result.get("events", []):
                if event.get("type") == "DELETE":
                    log("leader key deleted; keeping the current address until a new leader")
                    continue
                name = base64.b64decode(event["kv"]["value"]).decode()
                addr = member_address(args.etcd, args.prefix, name)
                if addr is None:
                    log(f"leader {name} has no member key yet")
                    continue
                bouncer.point_to(*addr, f"new leader {name}")
    raise RuntimeError("watch stream ended")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--etcd", required=True)
    p.add_argument("--prefix", required=True, help="/namespace/scope")
    p.add_argument("--ini", required=True)
    p.add_argument("--admin-port", type=int, required=True)
    p.add_argument("--bed-dir", help="only to make this process recognisable by its command line")
    args = p.parse_args()
    bouncer = Bouncer(args.ini, args.admin_port)
    while True:
        try:
            follow(args, bouncer)
        except Exception as e:  # etcd restarting, stream cut: read the key again and re-watch
            log(f"{type(e).__name__}: {e}; retrying in 0.5 s")
            time.sleep(0.5)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
