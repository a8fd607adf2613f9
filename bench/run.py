"""
Latency benchmark at 100 000 stocks: `python -m bench.run [--stocks N] [--requests N]`.

Loads the S&P 500 sample plus N synthetic stocks into a separate database (SQLite file
bench/results/bench.sqlite3 for 100 000, bench-<N>.sqlite3 for other sizes, or database
`stockscanner_bench[_<N>]` on the server named by DATABASE_URL), refreshes planner
statistics, then times requests in-process through Django's test client: the screens the
aims name, a 50-row list, a search, a detail, and a do-nothing view as the baseline measured
in the same run. Prints p50/p95 per endpoint and their ratio to the baseline's p50; writes
the same as JSON to bench/results/. `--stocks 0` is the 503-stock run.

Workloads marked "unique URLs" never repeat a URL (a fresh price floor per request), so a
response cache cannot answer them: they time the screen engine itself. The others repeat a
small set of URLs, as real traffic does, and are cache hits once warm if the app caches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from collections.abc import Callable

from bench.common import DEFAULT_STOCKS, RESULTS, percentile, prepare, price_floor

BASELINE = "baseline (noop view)"

# The in-process aims (p95, milliseconds), and the size each applies at.
AIMS = {
    "screen: sector + price band": (3.0, DEFAULT_STOCKS),
    "screen: 10-200, -market_cap": (3.0, DEFAULT_STOCKS),
    "screen: 10-200, -market_cap (unique URLs)": (3.0, DEFAULT_STOCKS),
    "screen: Utilities, -change_percent": (3.0, DEFAULT_STOCKS),
    "screen: floor, -market_cap (unique URLs)": (3.0, DEFAULT_STOCKS),
    "list: 50 rows": (2.0, 0),
    "search": (3.0, DEFAULT_STOCKS),
}


def _workloads(rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each workload: a function giving the next URL to request."""
    from stocks.models import Stock

    sectors = list(Stock.objects.values_list("sector", flat=True).distinct())
    tickers = list(Stock.objects.values_list("ticker", flat=True)[:5000])
    queries = [
        "A", "AA", "MS", "BRK.B", "BF-B", "apple", "micro", "bank of am", "berkshre",
        "mircosoft", "quantum", "northern pow", "sol", "Z", "exxon", "health", "tex",
    ]  # fmt: skip
    screens = []
    for _ in range(400):
        low = rng.choice((5, 10, 20, 50))
        screens.append(
            f"/api/stocks/?sector={rng.choice(sectors).replace(' ', '+')}"
            f"&price_min={low}&price_max={low * rng.choice((4, 10))}&ordering=-change_percent"
        )
    seq = itertools.count(rng.randrange(10**6))

    def one_of(urls: list[str]) -> Callable[[], str]:
        return lambda: rng.choice(urls)

    return {
        BASELINE: lambda: "/bench/noop/",
        "screen: sector + price band": one_of(screens),
        "screen: 10-200, -market_cap": lambda: (
            "/api/stocks/?price_min=10&price_max=200&ordering=-market_cap"
        ),
        # The same screen, a cache miss every time: a floor a hair above 10 (a millionth at
        # most), so the rows are those of the screen above.
        "screen: 10-200, -market_cap (unique URLs)": lambda: (
            f"/api/stocks/?price_min=10.{next(seq) % 10**6:06d}&price_max=200&ordering=-market_cap"
        ),
        "screen: Utilities, -change_percent": lambda: (
            "/api/stocks/?sector=Utilities&ordering=-change_percent"
        ),
        "screen: floor, -market_cap (unique URLs)": lambda: (
            f"/api/stocks/?price_min={price_floor(next(seq))}&ordering=-market_cap"
        ),
        "list: 50 rows": lambda: "/api/stocks/?page_size=50&ordering=-change_percent",
        "search": one_of([f"/api/stocks/search/?q={query.replace(' ', '+')}" for query in queries]),
        "detail": one_of([f"/api/stocks/{ticker}/" for ticker in tickers]),
    }


def _time(client, next_url: Callable[[], str], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        url = next_url()
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:200]}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stocks", type=int, default=DEFAULT_STOCKS, help="synthetic stocks to add"
    )
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per endpoint")
    parser.add_argument(
        "--reuse", action="store_true", help="skip loading when the database is already loaded"
    )
    args = parser.parse_args()

    vendor = prepare(args.stocks, args.reuse)
    from django.test import Client

    from stocks.models import Stock

    client = Client()
    rng = random.Random(42)
    workloads = _workloads(rng)
    for next_url in workloads.values():  # warm caches, connections and imports
        _time(client, next_url, 20)
    # Rounds are interleaved so machine noise hits every endpoint alike.
    per_round = max(1, args.requests // args.rounds)
    samples: dict[str, list[float]] = {name: [] for name in workloads}
    for _ in range(args.rounds):
        for name, next_url in workloads.items():
            samples[name].extend(_time(client, next_url, per_round))

    baseline = statistics.median(samples[BASELINE])
    rows = []
    for name, values in samples.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        aim, at = AIMS.get(name, (None, None))
        rows.append(
            {
                "endpoint": name,
                "p50_ms": p50,
                "p95_ms": p95,
                "p50_vs_baseline": p50 / baseline,
                # The aim applies only at the size it names (e.g. the list's at 503 stocks).
                "aim_p95_ms": aim if at == args.stocks else None,
            }
        )
    report = {
        "database": vendor,
        "stocks": Stock.objects.count(),
        "requests_per_endpoint": per_round * args.rounds,
        "rows": rows,
    }
    print(
        f"\n{report['database']}, {report['stocks']} stocks, "
        f"{report['requests_per_endpoint']} requests per endpoint"
    )
    print(f"{'endpoint':<44}{'p50 ms':>9}{'p95 ms':>9}{'p50 / baseline':>16}{'aim p95':>12}")
    for row in rows:
        aim = row["aim_p95_ms"]
        verdict = "" if aim is None else f"<{aim:g} {'ok' if row['p95_ms'] < aim else 'MISS'}"
        print(
            f"{row['endpoint']:<44}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
            f"{row['p50_vs_baseline']:>15.1f}x{verdict:>12}"
        )
    suffix = "" if args.stocks == DEFAULT_STOCKS else f"-{args.stocks}"
    out = RESULTS / f"latency-{vendor}{suffix}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
