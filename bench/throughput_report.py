#!/usr/bin/python3
"""Markdown report of a bench/throughput run: python3 throughput_report.py RAW-DIR > report.md
RAW-DIR holds machine.env (key=value) and results.tsv (one row per pgbench run)."""
import csv
import re
import statistics
import sys
from pathlib import Path

TARGETS = ["direct", "pgbouncer", "haproxy", "pgrouter-session", "pgrouter-transaction"]
LABEL = {
    "direct": "PostgreSQL direct",
    "pgbouncer": "PgBouncer (transaction)",
    "haproxy": "HAProxy",
    "pgrouter-session": "PgRouter session",
    "pgrouter-transaction": "PgRouter transaction",
}


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def ok(r):
    return r["exit"] == "0" and num(r["tps"]) is not None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


class Cell:
    """What the runs of one target in one scenario add up to (median over rounds)."""

    def __init__(self, runs):
        self.runs = runs
        good = [r for r in runs if ok(r)]
        self.failed_runs = [r for r in runs if not ok(r)]
        self.ok = bool(good) and not self.failed_runs
        self.tps = med(num(r["tps"]) for r in good)
        self.tps_range = (min(num(r["tps"]) for r in good), max(num(r["tps"]) for r in good)) if len(good) > 1 else None
        self.lat = med(num(r["latency_ms"]) for r in good)
        cpu = [1e4 * num(r["proxy_cpu_s"]) / num(r["transactions"]) for r in good
               if num(r["proxy_cpu_s"]) is not None and num(r["transactions"])]
        self.cpu = med(cpu)
        self.failed_tx = sum(int(r["failed"] or 0) for r in runs)
        self.busy = med(num(r["host_busy_pct"]) for r in runs)
        self.other = max((num(r["other_pct"]) for r in runs if num(r["other_pct"]) is not None), default=None)


def main():
    raw = Path(sys.argv[1])
    env = dict(line.rstrip("\n").split("=", 1) for line in open(raw / "machine.env") if "=" in line)
    rows = list(csv.DictReader(open(raw / "results.tsv"), delimiter="\t"))
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    cells = {(s, t): Cell([r for r in rows if r["scenario"] == s and r["target"] == t]) for s in scenarios for t in TARGETS}
    rounds = int(env.get("rounds", "1"))
    out = []
    w = out.append

    w(f"# Throughput: PgRouter, PgBouncer, HAProxy and PostgreSQL direct — {env['date'][:10]}")
    w("")
    w("Produced by `bench/throughput` (pgbench through each target, interleaved). "
      f"Raw pgbench output, logs and configs: `{env['raw']}/` (not committed).")
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("| --- | --- |")
    for key, label in [("cpu", "CPU"), ("cores", "Cores"), ("ram", "RAM"), ("kernel", "Kernel"), ("os", "OS"),
                       ("postgresql", "PostgreSQL"), ("pgbench", "pgbench"), ("pgbouncer", "PgBouncer"),
                       ("haproxy", "HAProxy"), ("dotnet", ".NET"), ("commit", "Git commit (worktree HEAD)"),
                       ("src_commit", "Last commit touching src/"), ("loadavg_start", "Load average at start"),
                       ("loadavg_end", "Load average at end"), ("elapsed_s", "Wall time of the script (s)")]:
        if key in env:
            w(f"| {label} | {env[key]} |")
    w("")
    w("## Method")
    w("")
    w(f"- pgbench with `-n -j 2 -T {env['duration']}`, "
      "`-S` (select-only) or the built-in TPC-B-like script, `-c 8` and `-c 64`, `-M simple` and `-M prepared`; "
      "database `app` initialised once with `pgbench -i -s 10` directly on the primary.")
    w(f"- Interleaved: for each scenario every target runs once per round ({rounds} round(s)), the starting target "
      "rotating from one scenario to the next, so that drift on this shared machine falls on all targets alike. "
      "Before every run, directly on the primary: `VACUUM pgbench_branches`, `VACUUM pgbench_tellers`, "
      "`TRUNCATE pgbench_history` (what pgbench does itself without `-n`) and `CHECKPOINT`.")
    w("- Warm-up before measuring: 5 s select-only, 8 clients, simple and prepared, through every target "
      "(so PgRouter's JIT has tiered up; PgBouncer skips prepared).")
    w("- Targets (all plain TCP on loopback, no TLS on either side, user `app` with SCRAM):")
    w("  - **PostgreSQL direct**: the leader's port; 8 or 64 backends.")
    w(f"  - **PgBouncer 1.18**: `pool_mode = transaction`, `default_pool_size = {env['pool_size']}`, "
      "`auth_type = scram-sha-256` with the SCRAM secret in its `auth_file`, `server_tls_sslmode = disable`; "
      "a watcher keeps `[databases]` on the Patroni leader (idle during this benchmark).")
    w("  - **HAProxy**: Patroni's documented setup, `mode tcp`, `option httpchk GET /primary`, "
      "`http-check expect status 200`, `default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions`, "
      "`maxconn 100`; no pooling, so 8 or 64 backends.")
    w(f"  - **PgRouter session** (listener `PoolMode: session`) and **PgRouter transaction** (`PoolMode: transaction`), "
      f"`Pooling.Size = {env['pool_size']}` (the session target connects to database `app_session`, which maps to `app` with a session pool of {env['session_pool_size']}, so that 64 clients are seated), `ServerTls.Mode = disable`, Release build (`dotnet publish -c Release`), "
      "one process serving both listeners.")
    w("- TPS is pgbench's `tps = … (without initial connection time)`, latency its `latency average`. "
      "Proxy CPU = utime + stime of the proxy process (all threads) from `/proc/PID/stat`, before and after the run "
      "(so it includes connection set-up), per 10,000 transactions processed. Host CPU = share of both cores "
      "busy during the run (`/proc/stat`), whoever used it; others' CPU = the part of it not used by this bench "
      "(bed processes, reaped backends, proxies, pgbench), i.e. other engineers' work on the machine — a run with "
      "a high figure there was measured on a smaller machine than its neighbours.")
    w("- Caveat: 2 cores carry pgbench, PostgreSQL, the proxy and other engineers' work on this machine. "
      "With a proxy in the path the cores are saturated, so proxy CPU comes straight out of PostgreSQL's and "
      "pgbench's share: TPS ratios here are a CPU-efficiency comparison more than a latency one.")
    w("")

    w("## TPS at a glance")
    w("")
    w("| Scenario | " + " | ".join(LABEL[t] for t in TARGETS) + " |")
    w("| --- |" + " ---: |" * len(TARGETS))
    for s in scenarios:
        w(f"| {s} | " + " | ".join(fmt(cells[(s, t)].tps) if cells[(s, t)].ok else "fails" for t in TARGETS) + " |")
    w("")

    # Ratios next: what people look for.
    w("## Ratios (TPS)")
    w("")
    w("| Scenario | PgRouter transaction / PgBouncer | PgRouter session / PgBouncer | PgRouter transaction / direct | "
      "PgRouter session / direct | PgRouter transaction CPU per tx / PgBouncer's |")
    w("| --- | --- | --- | --- | --- | --- |")

    def ratio(a, b, what="tps"):
        x, y = getattr(cells[a], what), getattr(cells[b], what)
        if not cells[a].ok:
            return f"n/a ({LABEL[a[1]]} fails)"
        if not cells[b].ok:
            return f"n/a ({LABEL[b[1]]} fails)"
        return "–" if x is None or not y else f"{x / y:.2f}"

    for s in scenarios:
        w(f"| {s} | {ratio((s, 'pgrouter-transaction'), (s, 'pgbouncer'))} | "
          f"{ratio((s, 'pgrouter-session'), (s, 'pgbouncer'))} | "
          f"{ratio((s, 'pgrouter-transaction'), (s, 'direct'))} | "
          f"{ratio((s, 'pgrouter-session'), (s, 'direct'))} | "
          f"{ratio((s, 'pgrouter-transaction'), (s, 'pgbouncer'), 'cpu')} |")
    w("")

    w("## Results per scenario")
    w("")
    failures = []
    for s in scenarios:
        w(f"### {s}")
        w("")
        w("| Target | TPS | Latency avg (ms) | Proxy CPU s / 10k tx | Failed tx | Host CPU busy | Others' CPU | Note |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for t in TARGETS:
            c = cells[(s, t)]
            if not c.runs:
                continue
            note = ""
            if c.ok:
                tps = fmt(c.tps)
                if c.tps_range:
                    note = f"TPS range {fmt(c.tps_range[0])}–{fmt(c.tps_range[1])}"
                lat, cpu = fmt(c.lat, 2), fmt(c.cpu, 3) if t != "direct" else "–"
            else:
                r = c.failed_runs[0]
                tps, lat, cpu = "**fails**", "–", "–"
                err = re.sub(r"^(pgbench: ?(error: )?)+", "", r["error"]).replace("|", "\\|")
                note = f"exit {r['exit']}: `{err}`"
                if num(r["tps"]) is not None and r["aborted_clients"] not in ("", "0"):
                    note += (f"; {r['aborted_clients']} of {r['clients']} clients aborted; the incomplete run counted "
                             f"{int(num(r['transactions'])):,} transactions ({fmt(num(r['tps']))} tps)")
                failures.append((s, t, r))
            w(f"| {LABEL[t]} | {tps} | {lat} | {cpu} | {c.failed_tx} | {fmt(c.busy)} % | {fmt(c.other)} % | {note} |")
        w("")

    w("## Failures")
    w("")
    if not failures:
        w("None.")
    for s, t, r in failures:
        w(f"- **{s} / {LABEL[t]}** (exit {r['exit']}, output `{env['raw']}/{r['raw']}`):")
        lines = [l for l in open(raw / r["raw"]).read().splitlines() if "error" in l.lower() or "FATAL" in l or "DETAIL" in l or "HINT" in l]
        seen = list(dict.fromkeys(lines))[:6]
        w("  ```")
        for l in seen:
            w(f"  {l}")
        w("  ```")
        if t == "pgbouncer" and r["mode"] == "prepared":
            w("  PgBouncer 1.18 in transaction mode does not track protocol-level prepared statements: a client's "
              "next transaction lands on a server connection where its statement does not exist (or another "
              "client's of the same name does). Expected; PgBouncer 1.21+ has `max_prepared_statements` for this.")
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
