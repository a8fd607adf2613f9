"""
Latency benchmark at 100 000 stocks: `python -m bench.run [--stocks N] [--requests N]`.

Loads the S&P 500 sample plus N synthetic stocks into a separate database (SQLite file
bench/results/bench.sqlite3, or database `stockscanner_bench` on the server named by
DATABASE_URL), refreshes planner statistics, then times requests in-process through
Django's test client: a typical screen, a search, a detail, and a do-nothing view as the
baseline measured in the same run. Prints p50/p95 per endpoint and their ratio to the
baseline's p50; writes the same as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

RESULTS = Path(__file__).resolve().parent / "results"


def _prepare(stocks: int, reuse: bool) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    RESULTS.mkdir(exist_ok=True)
    if connection.vendor == "mysql":
        _create_mysql_database(connection.settings_dict)
    elif connection.vendor == "postgresql":
        _create_postgres_database(connection.settings_dict)
    call_command("migrate", verbosity=0)
    from stocks.models import Stock

    if reuse and Stock.objects.count() >= stocks:
        print("reusing the loaded data", file=sys.stderr)
        return
    started = time.perf_counter()
    call_command("load_sample_data", synthetic=stocks)
    print(f"data ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE stocks_stock, stocks_searchterm, stocks_pricebar")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")


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


def _workloads(rng: random.Random) -> dict[str, list[str]]:
    from stocks.models import Stock

    sectors = list(Stock.objects.values_list("sector", flat=True).distinct())
    tickers = list(Stock.objects.values_list("ticker", flat=True)[:5000])
    queries = [
        "A", "AA", "MS", "BRK.B", "BF-B", "apple", "micro", "bank of am", "berkshre",
        "mircosoft", "quantum", "northern pow", "sol", "Z", "exxon", "health", "tex",
    ]  # fmt: skip
    screens, searches, details = [], [], []
    for _ in range(400):
        low = rng.choice((5, 10, 20, 50))
        screens.append(
            f"/api/stocks/?sector={rng.choice(sectors).replace(' ', '+')}"
            f"&price_min={low}&price_max={low * rng.choice((4, 10))}&ordering=-change_percent"
        )
        searches.append(f"/api/stocks/search/?q={rng.choice(queries).replace(' ', '+')}")
        details.append(f"/api/stocks/{rng.choice(tickers)}/")
    return {
        "baseline (noop view)": ["/bench/noop/"] * 400,
        "screen": screens,
        "search": searches,
        "detail": details,
    }


def _time(client, urls: list[str], count: int) -> list[float]:
    samples = []
    for url in urls[:count]:
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:200]}")
    return samples


def _percentile(samples: list[float], pct: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(pct) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=100_000, help="synthetic stocks to add")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per endpoint")
    parser.add_argument(
        "--reuse", action="store_true", help="skip loading when the database is already loaded"
    )
    args = parser.parse_args()

    _prepare(args.stocks, args.reuse)
    from django.db import connection
    from django.test import Client

    from stocks.models import Stock

    client = Client()
    rng = random.Random(42)
    workloads = _workloads(rng)
    for urls in workloads.values():  # warm caches, connections and imports
        _time(client, urls, 20)
    # Rounds are interleaved so machine noise hits every endpoint alike.
    per_round = max(1, args.requests // args.rounds)
    samples: dict[str, list[float]] = {name: [] for name in workloads}
    for _ in range(args.rounds):
        for name, urls in workloads.items():
            samples[name].extend(_time(client, rng.sample(urls, len(urls)), per_round))

    baseline = statistics.median(samples["baseline (noop view)"])
    rows = []
    for name, values in samples.items():
        p50, p95 = statistics.median(values), _percentile(values, 95)
        rows.append(
            {"endpoint": name, "p50_ms": p50, "p95_ms": p95, "p50_vs_baseline": p50 / baseline}
        )
    report = {
        "database": connection.vendor,
        "stocks": Stock.objects.count(),
        "requests_per_endpoint": per_round * args.rounds,
        "rows": rows,
    }
    print(
        f"\n{report['database']}, {report['stocks']} stocks, "
        f"{report['requests_per_endpoint']} requests per endpoint"
    )
    print(f"{'endpoint':<22}{'p50 ms':>9}{'p95 ms':>9}{'p50 / baseline':>16}")
    for row in rows:
        print(
            f"{row['endpoint']:<22}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
            f"{row['p50_vs_baseline']:>15.1f}x"
        )
    out = RESULTS / f"latency-{connection.vendor}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
