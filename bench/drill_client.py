#!/usr/bin/python3
"""Write load for the switchover/failover drill: one autocommit INSERT every 10 ms, like an
application that keeps going through an outage.

  drill_client.py client --port PORT --run RUN --out FILE      through a proxy (127.0.0.1:PORT)
  drill_client.py probe --ports P1,P2,P3 --run RUN --out FILE   straight to the members: libpq tries
      them in turn with target_session_attrs=read-write, so it lands on whichever is the writable primary
      (records the server port of every write, to see when the new leader took its first one)

Every attempt uses the next id (1, 2, ...). Output, one line per attempt, flushed as it happens (the
drill may have to kill a client stuck in a query):
  ok   ID  T_ACK  SERVER_PORT      the INSERT was acknowledged at T_ACK (epoch seconds)
  err  ID  T      PHASE  MESSAGE   connect or insert failed (ID is the insert's id, 0 for a connect)
A failed insert leaves the connection if libpq still has it (a SQL error such as a read-only
transaction), else the next tick reconnects — what a pool with a validity check does.
Stops on SIGTERM or SIGINT after the attempt in progress."""
import argparse
import signal
import sys
import time

import psycopg2

TABLES = {"client": "drill", "probe": "drill_probe"}
stop = False


def on_signal(*_):
    global stop
    stop = True


def one_line(e):
    """First line of an error, with its SQLSTATE if the server sent one."""
    text = (str(e).strip().splitlines() or [type(e).__name__])[0].strip()
    code = getattr(e, "pgcode", None)
    return f"{code} {text}" if code else text


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["client", "probe"])
    p.add_argument("--port", type=int)
    p.add_argument("--ports")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.010)
    p.add_argument("--connect-timeout", type=int, default=5)
    args = p.parse_args()
    if args.mode == "client":
        dsn = f"host=127.0.0.1 port={args.port}"
    else:
        ports = args.ports.split(",")
        dsn = f"host={','.join(['127.0.0.1'] * len(ports))} port={args.ports} target_session_attrs=read-write"
    dsn += f" user=app password=app dbname=app sslmode=disable connect_timeout={args.connect_timeout} application_name=drill-{args.mode}"
    sql = f"INSERT INTO {TABLES[args.mode]} (run, id, client_ts) VALUES (%s, %s, to_timestamp(%s)) RETURNING inet_server_port()"

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = open(args.out, "w", buffering=1)
    conn = None
    next_id = 0
    tick = time.monotonic()
    while not stop:
        # One attempt per 10 ms tick; after a slow attempt, carry on from now rather than burst.
        tick = max(tick + args.interval, time.monotonic())
        if conn is None:
            try:
                conn = psycopg2.connect(dsn)
                conn.autocommit = True
            except Exception as e:
                out.write(f"err\t0\t{time.time():.6f}\tconnect\t{one_line(e)}\n")
                conn = None
        if conn is not None:
            next_id += 1
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, (args.run, next_id, time.time()))
                    port = cur.fetchone()[0]
                out.write(f"ok\t{next_id}\t{time.time():.6f}\t{port}\n")
            except Exception as e:
                out.write(f"err\t{next_id}\t{time.time():.6f}\tinsert\t{one_line(e)}\n")
                if conn.closed:
                    conn = None
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    if conn is not None:
        conn.close()
    out.close()


if __name__ == "__main__":
    sys.exit(main())
