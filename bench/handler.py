"""
Per-request cost straight through the WSGI application gunicorn serves:
`python -m bench.handler [--stocks N] [--requests N] [--rounds N] [--reuse]`.

bench/run.py times requests through Django's test client, whose handler is not the one
gunicorn runs (stockscanner_django/handler.py) and which adds work of its own. This calls
``stockscanner_django.wsgi.application`` with a WSGI environ, as gunicorn's worker does,
with production settings (``DJANGO_ENV=production``; the response cache in Redis when
``REDIS_URL`` is set, else local memory), in one process, on the bench database of
bench/run.py. Targets, interleaved round by round so the machine's noise hits each alike:

- trivial: ``/health/live/``, the load run's baseline;
- hit: the load run's cached 50-row list, gzip accepted;
- miss: a screen with a unique price floor per request, ordered by market cap.

Prints the median microseconds per request of each and hit / trivial in time.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import secrets
import statistics
import string
import sys
import time

from bench.common import DEFAULT_STOCKS, prepare, price_floor

HIT = "/api/stocks/?page_size=50&ordering=-change_percent"


def _environ(url: str) -> dict:
    path, _, query = url.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT_ENCODING": "gzip",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=DEFAULT_STOCKS, help="synthetic stocks")
    parser.add_argument("--requests", type=int, default=2000, help="requests per target and round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--reuse", action="store_true", help="skip loading when the database is already loaded"
    )
    args = parser.parse_args()

    # The app as the load run's gunicorn has it (bench/load.py), set before the settings load.
    os.environ.setdefault("DJANGO_ENV", "production")
    os.environ.setdefault(
        "DJANGO_SECRET_KEY",
        "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50)),
    )
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
    prepare(args.stocks, args.reuse)  # the bench database of bench/run.py, loaded once
    from stockscanner_django.wsgi import application

    floors = itertools.count(random.randrange(10**6))
    targets = {
        "trivial": lambda: "/health/live/",
        "hit": lambda: HIT,
        "miss": lambda: f"/api/stocks/?price_min={price_floor(next(floors))}&ordering=-market_cap",
    }
    answers: list[str] = []

    def start_response(status, headers, exc_info=None):
        answers.append(status)

    def run(next_url, count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            b"".join(application(_environ(next_url()), start_response))
        return (time.perf_counter() - started) / count * 1e6

    for next_url in targets.values():  # imports, connections, the snapshot, the cached hit
        run(next_url, 20)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, next_url in targets.items():
            samples[name].append(run(next_url, args.requests))
    refused = [status for status in answers if not status.startswith("200")]
    if refused:
        raise SystemExit(f"{len(refused)} answers were not 200, e.g. {refused[0]}")

    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{args.rounds} interleaved rounds of {args.requests} requests per target")
    for name, value in median.items():
        rounds = ", ".join(f"{v:.0f}" for v in samples[name])
        print(f"  {name:<8} {value:8.1f} µs   (rounds: {rounds})")
    print(f"  hit / trivial in time: {median['hit'] / median['trivial']:.2f}")


if __name__ == "__main__":
    main()
