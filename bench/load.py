"""
Load benchmark: `python -m bench.load [--stocks N] [--duration S] [--connections 16] [--reuse]`.

Why: in-process latency (bench/run.py) leaves out what production adds, which is gunicorn,
the full middleware stack with production settings, the shared response cache, gzip, and
16 clients at once. This run serves the app as production does and drives it with wrk, and
it reports each number as a ratio against baselines measured in the same run, so the
machine's speed cancels out:

- our trivial view, /health/live/, for the cache-hit list (aim: 0.8x or more);
- a naive DRF peer (naive_peer.py, outside the repo: --naive-peer) on its own database of
  the same size, for cache-miss screens of the same kind (aim: 10x or more). A miss is forced
  by a price floor unique per request (bench/wrk_targets.lua), so no two share a cache key.

Steps: load the bench database as bench/run.py does (and the peer's, once); with Redis,
publish the screen snapshot as the refresh pipeline does in production; start the app
under gunicorn with gunicorn.conf.py's settings (bench/gunicorn_load.py: the access log off)
and DJANGO_ENV=production, with Redis db 15 as the cache when Redis answers (flushed first:
it is the bench's own); start the peer under gunicorn as its docstring says, with as many
workers; measure worker RSS idle, warm (after wrk's warm-up and 10 000 mixed requests, which
fill each worker's bounded caches) and after 10 000 more mixed requests; then wrk
each target for --duration seconds, in --rounds interleaved rounds (so noise hits all alike),
and report the median requests/s. Worker recycling is off (GUNICORN_MAX_REQUESTS=0) so that
a leak shows as growth instead of being reset by a new worker.

Any non-2xx/3xx answer or timeout fails the run (exit status 1) after the table is printed;
the servers' stderr is kept in bench/results/load-app.log and load-peer.log. wrk must be
installed (Debian: apt-get install wrk). Writes bench/results/load-<vendor>[-<N>].json.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_DIR, DEFAULT_STOCKS, REPO_ROOT, RESULTS, prepare, price_floor

DEFAULT_PEER = REPO_ROOT.parent / "shared" / "bench" / "naive_peer.py"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
HEADERS = {"Accept-Encoding": "gzip"}  # every target, both servers: what real clients send
# Each wrk run (and the RSS phase) takes its price floors from its own block of the floor
# sequence, so floors never repeat across runs either (up to FLOOR_SPAN / FLOOR_BLOCK runs).
FLOOR_BLOCK = 500_000
# RSS counts as flat when no worker grows by more than this over the RSS phase.
FLAT_TOLERANCE_MB = 5.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    server: str  # "app", "keyed" (the app with plan limits on) or "peer"
    path: str  # "{floor}" becomes a price floor unique per request
    key: bool = False  # sent with the bench's API key (X-API-Key)


LIVE = Target("live: /health/live/", "app", "/health/live/")
HIT = Target(
    "hit: list 50, -change_percent", "app", "/api/stocks/?page_size=50&ordering=-change_percent"
)
MISS_CAP = Target(
    "miss: floor, -market_cap", "app", "/api/stocks/?price_min={floor}&ordering=-market_cap"
)
PEER_CAP = Target(
    "peer: floor, -market_cap", "peer", "/stocks/?price_min={floor}&ordering=-market_cap"
)
MISS_UTIL = Target(
    "miss: Utilities+floor, -change_pct",
    "app",
    "/api/stocks/?sector=Utilities&price_min={floor}&ordering=-change_percent",
)
PEER_UTIL = Target(
    "peer: Utilities+floor, -change_pct",
    "peer",
    "/stocks/?sector=Utilities&price_min={floor}&ordering=-change_percent",
)
# The same cached list through the plan limits: key lookup and the counters' round trip.
HIT_KEYED = Target("hit with key, limits on", "keyed", HIT.path, key=True)
TARGETS = [LIVE, HIT, HIT_KEYED, MISS_CAP, PEER_CAP, MISS_UTIL, PEER_UTIL]
# (numerator, denominator, aim): the issues' aims, as ratios within the run.
RATIOS = [
    (HIT, LIVE, 0.8),
    (MISS_CAP, PEER_CAP, 10.0),
    (MISS_UTIL, PEER_UTIL, 10.0),
    (HIT_KEYED, HIT, 0.85),
]
BENCH_PLAN = "bench"  # limits far above any rate this machine can serve
ADDED_RSS_AIM_MB = 60.0


class Failed(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"bench.load: {message}")


# --------------------------------------------------------------------------- processes


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Servers:
    """Every server started, each in its own process group, so stop() ends it all."""

    started: list[Server] = field(default_factory=list)

    def start(self, name: str, port: int, command: list[str], env: dict, cwd: Path) -> Server:
        log = RESULTS / f"load-{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers go with it
            )
        server = Server(name, port, process, log)
        self.started.append(server)
        return server

    def stop(self) -> None:
        # SIGTERM to each master, which stops its workers gracefully (a SIGTERM to the whole
        # group would have the master log each worker's as an error); then SIGKILL to
        # whatever is left in the group, should a master hang or die first.
        for server in self.started:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.started:
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=40)  # past gunicorn's 30 s graceful timeout
            with suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(server: Server, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise Failed(f"{server.name} exited at start-up:\n{server.log_tail()}")
        try:
            if _get(server.port, path).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"{server.name} did not answer {path} in {timeout:.0f}s:\n{server.log_tail()}")


# --------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int
    wire_bytes: int
    body: bytes  # decoded
    encoding: str
    ms: float


def _get(
    port: int, path: str, conn: http.client.HTTPConnection | None = None, key: str = ""
) -> Answer:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers={**HEADERS, **({"X-API-Key": key} if key else {})})
        response = conn.getresponse()
        raw = response.read()
        ms = (time.perf_counter() - started) * 1000
        encoding = response.getheader("Content-Encoding") or ""
        body = gzip.decompress(raw) if encoding == "gzip" else raw
        return Answer(response.status, len(raw), body, encoding, ms)
    finally:
        if own:
            conn.close()


def _drive(port: int, next_path: Callable[[], str], total: int, concurrency: int) -> Counter:
    """Send `total` GETs from `concurrency` keep-alive clients; count the answers by status."""
    lock = threading.Lock()
    issued = 0
    statuses: Counter = Counter()

    def client() -> None:
        nonlocal issued
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if issued >= total:
                    break
                issued += 1
                path = next_path()
            try:
                status: int | str = _get(port, path, conn).status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
            with lock:
                statuses[status] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _floor_paths(templates: list[str], first_seq: int) -> Iterator[str]:
    """The templates round robin, each "{floor}" a fresh floor (thread-safe enough: GIL)."""
    seq = itertools.count(first_seq)
    for template in itertools.cycle(templates):
        yield template.replace("{floor}", price_floor(next(seq)))


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkRun:
    requests: int
    seconds: float
    non_2xx_3xx: int
    timeouts: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Wrk:
    def __init__(self, connections: int, workdir: Path, first_block: int, key: str) -> None:
        self.connections = connections
        self.key = key
        self.threads = max(1, min(connections, os.cpu_count() or 1))
        self.workdir = workdir
        self.block = itertools.count(first_block)

    def next_floor_block(self) -> int:
        return next(self.block) * FLOOR_BLOCK

    def run(self, server: Server, target: Target, seconds: float) -> WrkRun:
        paths = self.workdir / f"paths-{TARGETS.index(target)}.txt"
        paths.write_text(target.path + "\n")
        command = [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-H",
            "Accept-Encoding: gzip",
            *(["-H", f"X-API-Key: {self.key}"] if target.key else []),
            "-s",
            str(BENCH_DIR / "wrk_targets.lua"),
            server.base + "/",
            "--",
            str(paths),
            str(self.next_floor_block()),
            str(self.threads),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise Failed(f"wrk failed on {target.name}:\n{done.stdout}\n{done.stderr}")
        data = json.loads(line.removeprefix("WRK_JSON "))
        run = WrkRun(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            non_2xx_3xx=data["non_2xx_3xx"],
            timeouts=data["timeout"],
            socket_errors=data["connect"] + data["read"] + data["write"],
            p50_ms=data["p50_ms"],
            p99_ms=data["p99_ms"],
        )
        if "{floor}" in target.path and run.requests > FLOOR_BLOCK:
            print(f"  note: {target.name} outran its floor block; floors may repeat")
        return run


# --------------------------------------------------------------------------- memory


def _worker_memory(server: Server) -> dict[int, float]:
    """RSS in MB of each gunicorn worker (the master's children)."""
    import psutil

    master = psutil.Process(server.process.pid)
    memory = {}
    for child in master.children():
        try:
            memory[child.pid] = child.memory_info().rss / MB
        except psutil.NoSuchProcess:
            continue
    return memory


def _wait_workers(server: Server, workers: int, timeout: float = 90) -> None:
    """Until every worker is up and its RSS has stopped moving (it has loaded the app)."""
    deadline = time.monotonic() + timeout
    previous = -1.0
    while time.monotonic() < deadline:
        memory = _worker_memory(server)
        total = sum(memory.values())
        if len(memory) == workers and abs(total - previous) < 0.005 * total:
            return
        previous = total
        time.sleep(0.5)
    raise Failed(f"{server.name}: {workers} workers not settled in {timeout:.0f}s")


def _memory_report(snapshots: dict[str, dict[int, float]]) -> dict:
    idle, warm, after = snapshots["idle"], snapshots["warm"], snapshots["after_requests"]
    same = sorted(set(idle) & set(after))
    added = {pid: after[pid] - idle[pid] for pid in same}
    growth = {pid: after[pid] - warm[pid] for pid in sorted(set(warm) & set(after))}
    return {
        "snapshots_mb": {name: sorted(m.values()) for name, m in snapshots.items()},
        "total_mb": {name: sum(m.values()) for name, m in snapshots.items()},
        # Workers that were not there from start to end died or were replaced: a red flag.
        "workers_replaced": len(set(idle) ^ set(snapshots["after_load"])),
        "added_per_worker_mb": {
            "max": max(added.values(), default=0.0),
            "mean": statistics.fmean(added.values()) if added else 0.0,
        },
        "growth_warm_to_after_requests_mb": {
            "max": max(growth.values(), default=0.0),
            "total": sum(growth.values()),
        },
        "flat": bool(growth) and max(growth.values()) <= FLAT_TOLERANCE_MB,
    }


# --------------------------------------------------------------------------- set-up


def _peer_database(peer: Path, rows: int) -> Path:
    """The naive peer's SQLite database with `rows` stocks, loaded once and then reused."""
    db = RESULTS / f"naive_peer-{rows}.sqlite3"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            if conn.execute("SELECT COUNT(*) FROM auth_stock").fetchone()[0] == rows:
                return db
    except sqlite3.Error:
        pass
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    print(f"loading {rows} rows into the naive peer's {db.name}", file=sys.stderr)
    subprocess.run(
        [sys.executable, str(peer), "load", str(rows)],
        cwd=peer.parent,
        env={**os.environ, "NAIVE_PEER_DB": str(db)},
        check=True,
    )
    return db


def _redis_cache(url: str) -> str:
    """The Redis URL to use as the response cache, or "" (local memory) if none answers."""
    if not url:
        return ""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.flushdb()  # the bench's own database: start every run from a cold cache
        return url
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis, use locmem
        print(f"no Redis at {url} ({exc}); the cache is per-worker local memory")
        return ""


def _app_env(port: int, workers: int, threads: int, redis_url: str) -> dict:
    alphabet = string.ascii_letters + string.digits
    env = {
        **os.environ,  # BENCH_SQLITE / BENCH_DB_NAME / DATABASE_URL: the bench database
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_MAX_REQUESTS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _describe(answer: Answer) -> str:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return f"{len(data['results'])} rows of {data.get('count', '?')}"
    return ""


@contextmanager
def _terminate_on_sigterm():
    """A SIGTERM exits through the finally blocks too, so no server is left running."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=DEFAULT_STOCKS, help="synthetic stocks")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per target")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of wrk per target")
    parser.add_argument(
        "--rss-requests", type=int, default=10_000, help="mixed requests between RSS readings"
    )
    parser.add_argument(
        "--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="GUNICORN_THREADS for the app (1: sync workers)"
    )
    parser.add_argument(
        "--peer-stocks", type=int, help="rows in the naive peer's database (default: --stocks)"
    )
    parser.add_argument(
        "--naive-peer", type=Path, default=DEFAULT_PEER, help="path of naive_peer.py"
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS, help='response cache ("" for local memory)'
    )
    parser.add_argument(
        "--reuse", action="store_true", help="skip loading when the database is already loaded"
    )
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise Failed(
            "wrk is not installed; it generates the load. Debian/Ubuntu: "
            "apt-get install -y wrk; macOS: brew install wrk."
        )
    peer = args.naive_peer.resolve()
    if not peer.is_file():
        raise Failed(
            f"the naive peer is not at {peer}. It lives outside this repository; "
            "pass its path with --naive-peer PATH/naive_peer.py."
        )
    peer_rows = args.peer_stocks or max(args.stocks, 503)

    vendor = prepare(args.stocks, args.reuse)
    from django.db import connections

    from stocks.models import Stock

    stocks = Stock.objects.count()
    tickers = list(Stock.objects.values_list("ticker", flat=True)[:2000])
    key = _bench_key()
    connections.close_all()  # the servers get the database to themselves
    peer_db = _peer_database(peer, peer_rows)
    redis_url = _redis_cache(args.redis_url)

    servers = Servers()
    with _terminate_on_sigterm(), tempfile.TemporaryDirectory() as workdir:
        try:
            report = _run(args, servers, Path(workdir), peer, peer_db, redis_url, tickers, key)
        finally:
            servers.stop()
    report = {"database": vendor, "stocks": stocks, "peer_stocks": peer_rows, **report}
    suffix = "" if args.stocks == DEFAULT_STOCKS else f"-{args.stocks}"
    out = RESULTS / f"load-{vendor}{suffix}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {out}")
    if report["problems"]:
        raise Failed("FAILED:\n  " + "\n  ".join(report["problems"]))


def _bench_key() -> str:
    """A key on a plan whose limits the run cannot reach: the limits are paid, never hit."""
    from django.contrib.auth import get_user_model

    from stocks.access.models import Plan
    from stocks.services.api_keys import create_key

    huge = 10**9
    Plan.objects.update_or_create(
        slug=BENCH_PLAN,
        defaults={
            "name": "Bench", "requests_per_minute": huge, "requests_per_day": huge,
            "realtime_per_second": huge, "search_cost": 1, "max_page_size": 500,
            "max_page": None, "cursor_paging": True,
        },
    )  # fmt: skip
    get_user_model().objects.get_or_create(username="bench")
    return create_key(username="bench", plan=BENCH_PLAN, name="bench.load").secret


def _publish_snapshot(env: dict) -> None:
    """
    Publish the screen snapshot to the shared cache, as the refresh pipeline does after
    each ingest in production (stocks.tasks.publish_market): every worker then loads it,
    none builds it from the database (which only the first worker to need an unpublished
    version does).
    """
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); "
         "from stocks.screen import snapshots; assert snapshots.publish() is not None"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise Failed(f"publishing the screen snapshot failed:\n{done.stderr[-3000:]}")
    print(f"screen snapshot published to the cache in {time.monotonic() - started:.1f}s")


def _gunicorn_app(servers, name, port, env) -> Server:
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(BENCH_DIR / "gunicorn_load.py"),
        "stockscanner_django.wsgi",
    ]  # fmt: skip
    return servers.start(name, port, command, env, REPO_ROOT)


def _run(args, servers: Servers, workdir: Path, peer: Path, peer_db: Path, redis_url, tickers, key):
    problems: list[str] = []
    app_port, keyed_port, peer_port = _free_port(), _free_port(), _free_port()
    # The app as before, limits off; and the same app with plan limits on, for HIT_KEYED.
    app_env = _app_env(app_port, args.workers, args.threads, redis_url)
    if redis_url:
        _publish_snapshot(app_env)
    app = _gunicorn_app(servers, "app", app_port, {**app_env, "RATE_LIMITS_ENABLED": "false"})
    keyed_env = _app_env(keyed_port, args.workers, args.threads, redis_url)
    keyed = _gunicorn_app(
        servers, "keyed", keyed_port, {**keyed_env, "RATE_LIMITS_ENABLED": "true"}
    )
    peer_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    peer_server = servers.start(
        "peer",
        peer_port,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "naive_peer:application",
            "-b",
            f"127.0.0.1:{peer_port}",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            "4",
        ],
        {**peer_env, "NAIVE_PEER_DB": str(peer_db)},
        peer.parent,
    )
    by_server = {"app": app, "keyed": keyed, "peer": peer_server}
    _wait_ready(app, LIVE.path)
    _wait_ready(keyed, LIVE.path)
    _wait_ready(peer_server, "/stocks/?page_size=1")
    _wait_workers(app, args.workers)
    # Every worker answers a probe before the idle reading, so each has imported its views:
    # what comes after is what serving data adds, not module imports.
    _drive(app.port, lambda: LIVE.path, 20 * args.workers, args.connections)
    _wait_workers(app, args.workers)
    memory = {"idle": _worker_memory(app)}

    wrk = Wrk(args.connections, workdir, first_block=random.randrange(10_000), key=key)
    print(f"\nfirst requests ({'Redis' if redis_url else 'local-memory'} cache):")
    preflight = {}
    for target in TARGETS:
        server = by_server[target.server]
        path = target.path.replace("{floor}", price_floor(wrk.next_floor_block()))
        answer = _get(server.port, path, key=key if target.key else "")
        preflight[target.name] = {
            "path": path,
            "status": answer.status,
            "wire_bytes": answer.wire_bytes,
            "body_bytes": len(answer.body),
            "content_encoding": answer.encoding,
            "first_ms": answer.ms,
        }
        print(
            f"  {target.name:<36}{answer.status:>4}{answer.ms:>9.1f} ms{answer.wire_bytes:>8} B "
            f"on the wire ({answer.encoding or 'identity'}, {len(answer.body)} B) "
            f"{_describe(answer)}"
        )
        if answer.status != 200:
            raise Failed(
                f"{target.name}: GET {path} answered {answer.status}: {answer.body[:300]!r}"
                f"\n{server.log_tail()}"
            )
    hit = preflight[HIT.name]
    if hit["wire_bytes"] <= 1024 or hit["content_encoding"] != "gzip":
        problems.append(
            f"the cache-hit list should be a gzipped body over 1 KB; it is {hit['wire_bytes']} "
            f"B, Content-Encoding {hit['content_encoding'] or 'none'}"
        )

    print(f"\nwarm-up: {args.warmup:g}s of wrk per target")
    for target in TARGETS:
        wrk.run(by_server[target.server], target, args.warmup)

    mix = [
        HIT.path,
        MISS_CAP.path,
        MISS_UTIL.path,
        "/api/stocks/search/?q=micro",
        "/api/stocks/search/?q=bank+of+am",
        "/api/stocks/?price_min=10&price_max=200&ordering=-market_cap",
    ]
    paths = _floor_paths(mix, wrk.next_floor_block())
    rng = random.Random(7)
    lock = threading.Lock()

    def next_path() -> str:
        with lock:
            if rng.random() < 0.15:
                return f"/api/stocks/{rng.choice(tickers)}/"
            return next(paths)

    # The mix once before the "warm" reading: it fills each worker's bounded caches (the
    # local response cache's RESPONSE_CACHE_LOCAL_BYTES, the parse memos), so that growth
    # over the RSS phase is what a leak would add, not a cache reaching its bound.
    print(f"warm-up: {args.rss_requests} mixed requests, {args.connections} clients")
    statuses = _drive(app.port, next_path, args.rss_requests, args.connections)
    memory["warm"] = _worker_memory(app)
    print(f"RSS phase: {args.rss_requests} mixed requests, {args.connections} clients")
    statuses += _drive(app.port, next_path, args.rss_requests, args.connections)
    print(f"  answers: {dict(statuses)}")
    if set(statuses) - {200}:
        problems.append(f"RSS phase: answers other than 200: {dict(statuses)}")
    memory["after_requests"] = _worker_memory(app)

    results: dict[str, list[WrkRun]] = {t.name: [] for t in TARGETS}
    print(
        f"\n{args.rounds} rounds x {len(TARGETS)} targets x {args.duration:g}s, "
        f"{args.connections} connections, {wrk.threads} wrk threads"
    )
    for round_ in range(args.rounds):
        order = TARGETS[round_ % len(TARGETS) :] + TARGETS[: round_ % len(TARGETS)]
        for target in order:
            run = wrk.run(by_server[target.server], target, args.duration)
            results[target.name].append(run)
            print(f"  round {round_ + 1}  {target.name:<36}{run.rps:>10.0f} req/s")
    memory["after_load"] = _worker_memory(app)

    rows = []
    for target in TARGETS:
        runs = results[target.name]
        row = {
            "target": target.name,
            "server": target.server,
            "path": target.path,
            "rps_median": statistics.median(r.rps for r in runs),
            "rps_rounds": [r.rps for r in runs],
            "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "requests": sum(r.requests for r in runs),
            "non_2xx_3xx": sum(r.non_2xx_3xx for r in runs),
            "timeouts": sum(r.timeouts for r in runs),
            "socket_errors": sum(r.socket_errors for r in runs),
        }
        rows.append(row)
        if row["non_2xx_3xx"] or row["timeouts"]:
            problems.append(
                f"{target.name}: {row['non_2xx_3xx']} non-2xx/3xx answers and "
                f"{row['timeouts']} timeouts in {row['requests']} requests"
            )
    rps = {row["target"]: row["rps_median"] for row in rows}
    ratios = [
        {
            "ratio": f"{num.name} / {den.name}",
            "value": rps[num.name] / rps[den.name] if rps[den.name] else 0.0,
            "aim": aim,
        }
        for num, den, aim in RATIOS
    ]
    mem = _memory_report(memory)
    if mem["workers_replaced"]:
        problems.append(f"{mem['workers_replaced']} worker(s) died or were replaced mid-run")

    print(f"\n{'target':<38}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'sock err':>9}")
    for row in rows:
        print(
            f"{row['target']:<38}{row['rps_median']:>9.0f}{row['p50_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{row['non_2xx_3xx']:>9}{row['socket_errors']:>9}"
        )
    print(f"\n{'ratio (median req/s)':<72}{'value':>8}{'aim':>8}")
    for ratio in ratios:
        verdict = "ok" if ratio["value"] >= ratio["aim"] else "MISS"
        print(f"{ratio['ratio']:<72}{ratio['value']:>7.2f}x{ratio['aim']:>6g}x {verdict}")
    added = mem["added_per_worker_mb"]
    growth = mem["growth_warm_to_after_requests_mb"]
    print(
        f"\nworker RSS (MB, {args.workers} workers): "
        + ", ".join(f"{name} {total:.0f}" for name, total in mem["total_mb"].items())
        + f"\nadded per worker, idle -> after {2 * args.rss_requests} requests: max "
        f"{added['max']:.1f}, mean {added['mean']:.1f} (aim < {ADDED_RSS_AIM_MB:g}: "
        f"{'ok' if added['max'] < ADDED_RSS_AIM_MB else 'MISS'})"
        f"\ngrowth, warm -> {args.rss_requests} requests later: max {growth['max']:.1f} per "
        f"worker ({'flat' if mem['flat'] else 'NOT flat'}, tolerance {FLAT_TOLERANCE_MB:g})"
    )
    return {
        "workers": args.workers,
        "app_threads": args.threads,
        "peer_threads": 4,
        "cache": "redis" if redis_url else "locmem",
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "preflight": preflight,
        "targets": rows,
        "ratios": ratios,
        "memory": mem,
        "rss_phase_statuses": {str(k): v for k, v in statuses.items()},
        "problems": problems,
    }


if __name__ == "__main__":
    main()
