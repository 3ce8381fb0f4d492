"""Prepared statements, repeatedly, from several connections at once, with psycopg2 or psycopg 3.

usage: prepared_loop.py psycopg2|psycopg CONNINFO PASSWORD CONNECTIONS ITERATIONS
Prints "ok SERVERS HOPPED": the server processes seen and how many connections used more than one.
Any error ends it with a traceback and a non-zero exit.
"""
import sys
import threading

driver, conninfo, password, connections, iterations = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
QUERY = "select %s::int + 1, pg_backend_pid()"


def psycopg2_loop(seen):
    import psycopg2
    connection = psycopg2.connect(conninfo, password=password)
    connection.autocommit = True
    cursor = connection.cursor()
    # psycopg2 has no protocol-level statements: SQL PREPARE, which holds the server for the session.
    cursor.execute("prepare add_one(int) as select $1 + 1, pg_backend_pid()")
    for i in range(iterations):
        cursor.execute("execute add_one(%s)", (i,))
        check(cursor.fetchone(), i, seen)
        cursor.execute(QUERY, (i,))
        check(cursor.fetchone(), i, seen)
        if i % 10 == 0:
            connection.autocommit = False
            cursor.execute("insert into prepared_loop (n) values (%s) returning n", (i,))
            assert cursor.fetchone()[0] == i
            connection.commit()
            connection.autocommit = True
    connection.close()


def psycopg3_loop(seen):
    import psycopg
    # prepare_threshold=0: every query is a named protocol-level statement from its first use.
    with psycopg.connect(conninfo, password=password, autocommit=True, prepare_threshold=0) as connection:
        for i in range(iterations):
            check(connection.execute(QUERY, (i,)).fetchone(), i, seen)
            if i % 10 == 0:
                with connection.transaction():
                    assert connection.execute("insert into prepared_loop (n) values (%s) returning n", (i,)).fetchone()[0] == i


def check(row, i, seen):
    assert row[0] == i + 1, f"expected {i + 1}, got {row}"
    seen.add(row[1])


failures = []
seen_by_connection = [set() for _ in range(connections)]


def run(seen):
    try:
        (psycopg2_loop if driver == "psycopg2" else psycopg3_loop)(seen)
    except BaseException as e:
        failures.append(e)
        raise


threads = [threading.Thread(target=run, args=(seen,)) for seen in seen_by_connection]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    sys.exit(f"{len(failures)} connections failed: {failures[0]!r}")
servers = set().union(*seen_by_connection)
print("ok", len(servers), sum(1 for s in seen_by_connection if len(s) > 1))
