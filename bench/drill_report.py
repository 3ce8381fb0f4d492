#!/usr/bin/python3
"""Markdown report of a bench/drill run: python3 drill_report.py RAW-DIR > report.md
RAW-DIR holds drill.env, one directory per run (<section>-<target>/ with meta.env, client.tsv,
probe.tsv, db_ids.txt, db_probe_ids.txt) and the service logs of each section (logs-<section>/)."""
import datetime
import re
import sys
from collections import OrderedDict
from pathlib import Path

LABEL = {"pgrouter": "PgRouter transaction (14340)", "pgbouncer": "PgBouncer + leader watcher (14350)",
         "haproxy": "HAProxy (14351)"}
SECTION_TITLE = {
    "switchover": "Planned switchover (`patronictl switchover` via `bed.sh switchover`), asynchronous replication",
    "kill": "Crash: kill -9 of the leader's Patroni and postmaster (`bed.sh kill-member`), synchronous_mode on",
}


def read_env(path):
    return dict(l.rstrip("\n").split("=", 1) for l in open(path) if "=" in l)


def read_tsv(path):
    acks, errs = [], []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "ok":
            acks.append((int(f[1]), float(f[2]), int(f[3])))
        elif f[0] == "err":
            errs.append((int(f[1]), float(f[2]), f[3], f[4] if len(f) > 4 else ""))
    return acks, errs


def ids(path):
    return {int(l) for l in open(path) if l.strip()}


def longest_gap(acks):
    times = sorted(t for _, t, _ in acks)
    best = (0.0, None, None)
    for a, b in zip(times, times[1:]):
        if b - a > best[0]:
            best = (b - a, a, b)
    return best


# Timestamps of the log formats involved, all to epoch seconds.
TS = [
    (re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z"), lambda s: datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc)),
    (re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC"), lambda s: datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc)),
    (re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d)"), datetime.datetime.fromisoformat),
    # Patroni: local time with a comma (the bed machine runs in UTC; local time is what Python wrote).
    (re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+)"), lambda s: datetime.datetime.fromisoformat(s.replace(",", ".")).astimezone()),
]


def stamp(line):
    for rx, conv in TS:
        m = rx.match(line)
        if m:
            return conv(m.group(1)).timestamp()
    return None


def log_lines(path, t0, t1, keep=lambda l: True):
    """Lines of a log stamped between t0 and t1 that keep() accepts, as (t, line)."""
    if not path.exists():
        return []
    out = []
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        t = stamp(line)
        if t is not None and t0 <= t <= t1 and keep(line):
            out.append((t, line))
    return out


NOISE = [(re.compile(p), s) for p, s in [
    (r"^\S+Z |^\S+ \S+ UTC \[\d+\] |^\S+[+-]\d\d:\d\d ", ""),   # timestamps (and PgBouncer's pid)
    (r"([CS])-0x[0-9a-f]+", r"\1-0x…"),                                   # PgBouncer's socket ids
]]


def collapse(lines):
    """The first line of each distinct message (timestamps and client ports aside) in order of first
    appearance, with how often it came and until when: a client retrying every 10 ms would otherwise
    bury the rest."""
    groups = OrderedDict()
    for t, line in lines:
        key = line
        for rx, sub in NOISE:
            key = rx.sub(sub, key)
        # Clients' ephemeral ports, not the servers' (143xx).
        key = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: "127.0.0.1:*" if int(m.group(1)) >= 32768 else m.group(0), key)
        g = groups.setdefault(key, [t, line, 0, t])
        g[2] += 1
        g[3] = t
    return [(t, line, n, last) for t, line, n, last in groups.values()]


def rel(t, t0):
    return "–" if t is None else f"{t - t0:+.2f} s"


ROUTINE_PGROUTER = re.compile(r"ClientSessionHandler: client \S+ (on rw-\S+: user=|user=\S+: pooled session on cluster \S+ ended \(Client(Terminated|Closed)\))")


class Run:
    def __init__(self, d):
        self.dir = d
        self.meta = read_env(d / "meta.env")
        self.t_cmd = float(self.meta["t_cmd"])
        self.t_up = float(self.meta["t_up"])
        self.acks, self.errs = read_tsv(d / "client.tsv")
        self.packs, self.perrs = read_tsv(d / "probe.tsv")
        db, pdb = ids(d / "db_ids.txt"), ids(d / "db_probe_ids.txt")
        acked = {i for i, _, _ in self.acks}
        self.missing = sorted(acked - db)
        self.committed_errs = sorted({i for i, _, _, _ in self.errs if i > 0} & db)
        self.probe_missing = sorted({i for i, _, _ in self.packs} - pdb)
        self.gap = longest_gap(self.acks)
        self.pgap = longest_gap(self.packs)
        new_port, old_port = int(self.meta["new_port"]), int(self.meta["old_port"])
        # Patroni's outage as a client sees it directly: the probe's first write the new leader
        # acknowledged after the command.
        first_new = [t for _, t, p in self.packs if p == new_port and t > self.t_cmd]
        self.first_new = min(first_new) if first_new else None
        last_old = [t for _, t, p in self.packs if p == old_port]
        self.last_old = max(last_old) if last_old else None
        self.t_end = max([t for _, t, _ in self.acks + self.packs] + [self.t_up])
        self.messages = OrderedDict()
        for _, t, phase, msg in sorted(self.errs, key=lambda e: e[1]):
            m = self.messages.setdefault((phase, msg), [0, t, t])
            m[0] += 1
            m[2] = t
        self.promoted = None

    def find_promotion(self, logs):
        lines = log_lines(logs / f"{self.meta['new_leader']}.log", self.t_cmd - 1, self.t_end,
                          lambda l: "promoted self to leader" in l)
        self.promoted = lines[0][0] if lines else None


def main():
    raw = Path(sys.argv[1])
    env = read_env(raw / "drill.env")
    runs = {}
    for d in sorted(p for p in raw.iterdir() if (p / "meta.env").exists()):
        r = Run(d)
        r.find_promotion(raw / f"logs-{r.meta['section']}")
        runs.setdefault(r.meta["section"], []).append(r)
    for rs in runs.values():
        rs.sort(key=lambda r: r.t_cmd)   # in the order they ran
    out = []
    w = out.append
    w(f"# Switchover and failover drill — {env['date'][:10]}")
    w("")
    w(f"Produced by `bench/drill`; commit {env['commit']} (last change to src/: {env['src_commit']}); "
      f"the script ran {env['elapsed_s']} s. Raw client logs, ids and the logs of every service: "
      f"`{env['raw']}/` (not committed).")
    w("")
    w("## Method")
    w("")
    w("- **Client** (`bench/drill_client.py`, Python 3 + psycopg2 2.9 / libpq 15): one autocommit "
      "`INSERT INTO drill (run, id, client_ts) VALUES (…)` every 10 ms through the target as user `app` "
      "(SCRAM), `connect_timeout=5`. Each attempt takes the next id. A failed connect or insert is an error "
      "(time + message); when libpq has lost the connection the next tick reconnects, otherwise the "
      "connection is kept (a SQL error such as a read-only transaction). Every acknowledged id is recorded.")
    w("- **Probe** (same program, `probe` mode): the same every 10 ms into `drill_probe`, straight to the "
      "members with libpq's multi-host string (`host=127.0.0.1,… port=<pg1>,<pg2>,<pg3> "
      "target_session_attrs=read-write`), recording the server port of each acknowledged insert. "
      "**Patroni's outage** = time from the command to the probe's first write acknowledged by the new "
      "leader. It is a measurement by a client, so it includes the probe's own reconnect (≤ 10 ms tick + "
      "connect). The Patroni log line `promoted self to leader` of the new leader is shown as a cross-check.")
    w("- Sequence per target: `bed.sh ready`, wait until PgRouter, the PgBouncer watcher and HAProxy all point "
      "at the current leader; start client and probe; 5 s; the command; wait until a new leader takes "
      "writes (`bed.sh switchover` itself waits for that and for both replicas to stream again; after "
      "`kill-member`, polled every 0.2 s); 15 s more; stop both; read the drill ids back **on the new "
      "primary**; missing = acknowledged but absent.")
    w("- Patroni 3.0.2, ttl 10 s, loop_wait 2 s, retry_timeout 4 s (bed.sh). The kill section runs on a bed "
      "of its own started with `BED_SYNC=1` (`synchronous_mode: true` from bootstrap, not `edit-config`); "
      "after each kill the member is brought back with `bed.sh start-member` before the next target.")
    w("- Targets: PgRouter transaction listener (pool 20, defaults otherwise: `Connections.PauseTimeout` 30 s, "
      "`Pooling.QueueTimeout` 30 s); PgBouncer 1.18 transaction pool 20 with defaults otherwise "
      "(`server_login_retry` 15 s, `query_wait_timeout` 120 s, `server_connect_timeout` 15 s), its `[databases]` "
      "rewritten and `RELOAD`ed by `bench/pgbouncer_watcher.py`, which watches `/service/demo/leader` through "
      "etcd's v3 JSON gateway (keeps the old address while the key is absent); HAProxy with Patroni's "
      "documented checks (`option httpchk GET /primary`, `http-check expect status 200`, "
      "`default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions`, `timeout connect 4s`, "
      "`retries 2`). No TLS anywhere.")
    w("")
    for section in ("switchover", "kill"):
        if section not in runs:
            continue
        rs = runs[section]
        w(f"## {SECTION_TITLE[section]}")
        w("")
        w("| Target | Leader | Acked inserts | Errors | Longest gap between acked inserts | Missing acked rows | "
          "Failed but committed | Patroni outage (probe) | `promoted self to leader` |")
        w("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
        for r in rs:
            g, a, b = r.gap
            gap = f"**{1000 * g:,.0f} ms** ({rel(a, r.t_cmd)} → {rel(b, r.t_cmd)})" if a else "–"
            w(f"| {LABEL[r.meta['target']]} | {r.meta['old_leader']} → {r.meta['new_leader']} | {len(r.acks):,} | "
              f"{len(r.errs):,} | {gap} | {len(r.missing)} | {len(r.committed_errs)} | "
              f"{rel(r.first_new, r.t_cmd)} | {rel(r.promoted, r.t_cmd)} |")
        w("")
        w("Times are relative to the command (switchover started / kill sent). The probe itself, a direct "
          "client following the primary with libpq's `target_session_attrs=read-write`, saw:")
        w("")
        w("| During the run of | Probe errors | Probe's longest gap | Last write on the old leader | "
          "First write on the new leader | Probe rows missing |")
        w("| --- | ---: | --- | ---: | ---: | ---: |")
        for r in rs:
            g, a, b = r.pgap
            w(f"| {LABEL[r.meta['target']]} | {len(r.perrs):,} | {1000 * g:,.0f} ms ({rel(a, r.t_cmd)} → {rel(b, r.t_cmd)}) | "
              f"{rel(r.last_old, r.t_cmd)} | {rel(r.first_new, r.t_cmd)} | {len(r.probe_missing)} |")
        w("")
        for r in rs:
            target = r.meta["target"]
            w(f"### {LABEL[target]}: {r.meta['old_leader']} → {r.meta['new_leader']}")
            w("")
            if r.missing:
                w(f"**{len(r.missing)} acknowledged rows missing on the new primary**: ids "
                  f"{', '.join(map(str, r.missing[:30]))}{' …' if len(r.missing) > 30 else ''}.")
                w("")
            if r.messages:
                w("| Errors | Phase | First | Last | Message |")
                w("| ---: | --- | ---: | ---: | --- |")
                for (phase, msg), (n, t0, t1) in r.messages.items():
                    w(f"| {n} | {phase} | {rel(t0, r.t_cmd)} | {rel(t1, r.t_cmd)} | `{msg.replace('|', '/')}` |")
            else:
                w("No errors: every insert the client sent was acknowledged.")
            if r.committed_errs:
                w("")
                w(f"Inserts reported as failed that were nevertheless committed: ids {', '.join(map(str, r.committed_errs[:20]))}.")
            w("")
            logs = raw / f"logs-{section}"
            t0, t1 = r.t_cmd - 1, r.t_end + 1
            if target == "pgrouter":
                excerpt = log_lines(logs / "pgrouter.log", t0, t1, lambda l: not ROUTINE_PGROUTER.search(l))
                routine = len(log_lines(logs / "pgrouter.log", t0, t1, lambda l: bool(ROUTINE_PGROUTER.search(l))))
                title = (f"PgRouter's log from 1 s before the command to the end of the run "
                         f"(without {routine} routine session start/end lines):")
            elif target == "pgbouncer":
                excerpt = log_lines(logs / "pgbouncer-watcher.log", t0, t1) + log_lines(
                    logs / "pgbouncer.log", t0, t1,
                    lambda l: not re.search(r"login attempt|closing because: client close request|LOG stats:", l))
                excerpt.sort()
                title = "The watcher's log and PgBouncer's (without routine login, client close and stats lines) in the same window:"
            else:
                excerpt = log_lines(logs / "haproxy.log", t0, t1)
                title = "HAProxy's log (server state changes) in the same window:"
            w(title)
            if any(n > 1 for _, _, n, _ in collapse(excerpt)):
                w("")
                w("(Repeated lines shown once, with `[×N until +T]`: how many such lines, the last one's time.)")
            w("")
            w("```")
            for t, line, n, last in collapse(excerpt):
                more = f"  [×{n} until {rel(last, r.t_cmd)}]" if n > 1 else ""
                w(f"{rel(t, r.t_cmd):>9}  {line[:400]}{more}")
            if not excerpt:
                w("(nothing)")
            w("```")
            w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
