"""
What the in-process latency run (bench/run.py) and the load run (bench/load.py) share.

Both measure the same database, loaded the same way, so their numbers can be read side by
side: the S&P 500 sample plus N synthetic stocks in a database of its own. Each size gets
its own database (the 100 000-stock one keeps the documented name), so a quick run at a
small size, or the 503-stock run (``--stocks 0``), never clobbers the slow-to-load 100 000.

Also here: the price floors that make screens cache misses. A floor is unique per request
within a run (see ``price_floor``), so no two requests share a cache key and every screen
reaches the engine; bench/wrk_targets.lua computes the same sequence for wrk.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
DEFAULT_STOCKS = 100_000

# Price floors: FLOOR_LOW + (seq * FLOOR_STEP mod FLOOR_SPAN) / 1e6, six decimals, in
# [1, 51): most rows match, as in the "random price_min between 1 and 51". FLOOR_STEP
# is coprime with FLOOR_SPAN (odd, not a multiple of 5), so distinct sequence numbers (mod
# FLOOR_SPAN) give distinct floors, and consecutive ones land far apart in the range.
FLOOR_LOW = 1
FLOOR_SPAN = 50_000_000
FLOOR_STEP = 7_777_777


def price_floor(seq: int) -> str:
    """The seq-th price floor of the sequence, as the query-string value."""
    units = seq * FLOOR_STEP % FLOOR_SPAN
    return f"{FLOOR_LOW + units // 1_000_000}.{units % 1_000_000:06d}"


def use_bench_database(stocks: int) -> None:
    """
    Point bench.settings at the database for this many synthetic stocks. Call before
    django.setup(). BENCH_SQLITE / BENCH_DB_NAME, when set, still win.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    suffix = "" if stocks == DEFAULT_STOCKS else f"-{stocks}"
    os.environ.setdefault("BENCH_SQLITE", str(RESULTS / f"bench{suffix}.sqlite3"))
    os.environ.setdefault("BENCH_DB_NAME", f"stockscanner_bench{suffix.replace('-', '_')}")


def prepare(stocks: int, reuse: bool) -> str:
    """
    Create, migrate and load the bench database; refresh planner statistics. Returns the
    database vendor. With ``reuse``, a database that already holds the sample plus ``stocks``
    synthetic stocks is used as it is (loading 100 000 takes minutes).
    """
    import django

    use_bench_database(stocks)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    create_and_migrate()
    from stocks.models import Stock

    # More than `stocks`: the 503-stock sample is always there, so an empty database (count
    # 0) is never taken as loaded, not even for --stocks 0.
    if reuse and Stock.objects.count() > stocks:
        print("reusing the loaded data", file=sys.stderr)
        return connection.vendor
    started = time.perf_counter()
    call_command("load_sample_data", synthetic=stocks)
    print(f"data ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE stocks_stock, stocks_searchterm, stocks_pricebar")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")
    return connection.vendor


def create_and_migrate() -> None:
    """The configured database (created on a server if missing), migrated."""
    from django.core.management import call_command
    from django.db import connection

    RESULTS.mkdir(exist_ok=True)
    if connection.vendor == "mysql":
        _create_mysql_database(connection.settings_dict)
    elif connection.vendor == "postgresql":
        _create_postgres_database(connection.settings_dict)
    call_command("migrate", verbosity=0)


def _create_mysql_database(db: dict) -> None:
    import MySQLdb

    server = MySQLdb.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 3306),
        user=db["USER"],
        password=db["PASSWORD"],
    )
    try:
        server.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{db['NAME']}` CHARACTER SET utf8mb4"
        )
    finally:
        server.close()


def _create_postgres_database(db: dict) -> None:
    import psycopg
    from psycopg import sql

    server = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        exists = server.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    finally:
        server.close()


def percentile(samples: list[float], pct: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(pct) - 1]
