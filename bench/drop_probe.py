"""What dropping a day's partition costs an insert beside it, durable or not: `python -m bench.drop_probe`.

The growth part (issue 32) saw the intake's p99 rise while retention dropped a partition, and the bare
insert's with it. This probe separates the causes without Django: in a throw-away database, a table
partitioned by day with 10^6 rows (~1 KB each) in its oldest day; one session inserts single rows
into the parent in a loop (autocommit, a prepared statement) while another detaches (CONCURRENTLY)
and drops that day. Run twice: inserts committed durably (the intake: `synchronous_commit` on, the
WAL flushed before the 200) and with `synchronous_commit` off. If only the durable inserts slow
down during the drop, the cost is the disk's: the WAL flush waits while the file system frees the
dropped files, not CPU or locks. PostgreSQL on 127.0.0.1:5432, user postgres (DROP_PROBE_DSN).
"""
from __future__ import annotations

import json
import os
import statistics
import threading
import time

import psycopg

DSN = os.environ.get("DROP_PROBE_DSN", "postgresql://postgres@127.0.0.1:5432/{db}")
DB = "portal_drop_probe"
ROWS = 1_000_000


def _connect(db: str) -> psycopg.Connection:
    return psycopg.connect(DSN.format(db=db), autocommit=True)


def _prepare() -> None:
    with _connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    with _connect(DB) as db:
        db.execute("CREATE TABLE ev (id bigserial, at timestamptz NOT NULL, body text, k text, s text) PARTITION BY RANGE (at)")
        db.execute("CREATE INDEX ON ev (k)")
        db.execute("CREATE INDEX ON ev (s, at)")
        db.execute("CREATE INDEX ON ev (at DESC, id DESC)")
        db.execute("CREATE UNIQUE INDEX ON ev (id, at)")
        for day in range(2):
            db.execute(f"CREATE TABLE ev_{day} PARTITION OF ev FOR VALUES FROM (current_date - {2 - day}) TO (current_date - {1 - day})")
        db.execute("CREATE TABLE ev_today PARTITION OF ev FOR VALUES FROM (current_date) TO (current_date + 2)")
        db.execute(f"INSERT INTO ev (at, body, k, s) SELECT current_date - 2, repeat(md5(g::text), 30), md5(g::text), 'processed' "
                   f"FROM generate_series(1, {ROWS}) g")
        db.execute("VACUUM ANALYZE ev")
        db.execute("CHECKPOINT")


def _probe(durable: bool) -> dict:
    _prepare()
    writer = _connect(DB)
    if not durable:
        writer.execute("SET synchronous_commit = off")
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def insert():
        while not stop.is_set():
            began = time.perf_counter()
            writer.execute("INSERT INTO ev (at, body, k, s) VALUES (now(), 'x', 'y', 'pending')", prepare=True)
            samples.append((time.monotonic(), time.perf_counter() - began))

    thread = threading.Thread(target=insert)
    thread.start()
    time.sleep(2)
    with _connect(DB) as db:
        began = time.monotonic()
        db.execute("ALTER TABLE ev DETACH PARTITION ev_0 CONCURRENTLY")
        db.execute("DROP TABLE ev_0")
        ended = time.monotonic()
    time.sleep(1)
    stop.set()
    thread.join()
    writer.close()
    before = [s for at, s in samples if at < began]
    during = [s for at, s in samples if began <= at <= ended]
    return {"durable": durable, "drop_s": round(ended - began, 3), "before": _figures(before), "during": _figures(during)}


def _figures(seconds: list[float]) -> dict:
    if len(seconds) < 2:
        return {"n": len(seconds)}
    return {"n": len(seconds), "p50_ms": round(statistics.median(seconds) * 1000, 2),
            "p99_ms": round(statistics.quantiles(seconds, n=100)[98] * 1000, 2), "max_ms": round(max(seconds) * 1000, 2)}


def main() -> None:
    try:
        for durable in (True, False):
            print(json.dumps(_probe(durable)), flush=True)
    finally:
        with _connect("postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
