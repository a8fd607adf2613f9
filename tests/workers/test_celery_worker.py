"""
Real Celery workers and beat on a real Redis broker (a redis-server of the test's own),
against a server that answers like Massive, on this run's database (a scratch database on
MariaDB/PostgreSQL runs, a SQLite file otherwise).
"""

from __future__ import annotations

import json
import re
import time

import pytest
import redis

from tests.support.fake_massive import FakeMassive
from tests.support.live import BASE_DIR, manage
from tests.support.servers import RedisServer, scratch_database, server_vendor
from tests.support.workers import start_beat, start_worker, worker_env

pytestmark = pytest.mark.services

SETUP = """
from datetime import datetime, timezone
from stocks.models import Stock
for ticker in ("AAPL", "BRK.B", "MSFT"):
    Stock.objects.create(ticker=ticker, name=ticker + " Inc", price=100, previous_close=99,
                         quote_time=datetime(2026, 11, 20, 21, tzinfo=timezone.utc))
"""


@pytest.fixture
def database_url(tmp_path):
    if server_vendor() is None:
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    with scratch_database() as database:
        yield database.url()


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def massive():
    server = FakeMassive()
    yield server
    server.close()


@pytest.fixture
def env(database_url, broker, massive):
    env = worker_env(database_url, broker.url, massive.url)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "shell", "-c", SETUP)
    return env


def query(env: dict, code: str):
    """A value computed in the app's own settings (``manage.py shell``), read back as JSON."""
    return json.loads(manage(env, "shell", "-c", f"import json\n{code}").strip().splitlines()[-1])


def wait_until(condition, timeout: float = 60, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


# AAPL's price once refreshed from the fake snapshot: its last trade while the market is
# open, the day's close the same evening, the previous close after the overnight reset.
REFRESHED = {"230.9100", "230.8800", "229.6400"}
PRICE = (
    "from stocks.models import Stock; "
    "print(json.dumps(str(Stock.objects.get(ticker='AAPL').price)))"
)


def test_enqueued_refresh_changes_the_database(env, tmp_path, massive):
    """`refresh_market_data --async` prints a task id; a worker runs it; the quote is stored."""
    worker = start_worker(env, tmp_path)
    try:
        out = manage(env, "refresh_market_data", "--quotes", "--async")
        task_id = out.strip().rsplit(" ", 1)[1]
        assert out.startswith("stocks.tasks.refresh_quotes enqueued: ")
        wait_until(lambda: query(env, PRICE) in REFRESHED)
        line = worker.wait_for(
            rf"task=stocks\.tasks\.refresh_quotes\[{task_id}\] .*refreshed \d+ quotes"
        )
        assert "INFO stocks.tasks" in worker.log()[line.start() - 200 : line.end()]
        assert massive.count("/v2/snapshot/") == 1
    finally:
        worker.stop()


# Each stock has a bar on the session 3 before the last: 3 days of bars are due. Prints the 4.
_SEED_BARS = """
from datetime import timedelta
from django.utils import timezone
from stocks.market_calendar import get_calendar
from stocks.models import PriceBar, Stock
calendar = get_calendar()
last = calendar.last_completed_session(timezone.now())
days = [last]
for _ in range(3):
    days.insert(0, calendar.previous_trading_day(days[0]))
for stock in Stock.objects.all():
    PriceBar.objects.create(stock=stock, date=days[0], open=1, high=1, low=1, close=1, volume=1)
print(json.dumps([d.isoformat() for d in days]))
"""
_BARS_BY_DAY = """
from django.db.models import Count
from stocks.models import PriceBar
rows = PriceBar.objects.values("stock__ticker", "date").annotate(n=Count("id"))
print(json.dumps(sorted((r["stock__ticker"], r["date"].isoformat(), r["n"]) for r in rows)))
"""


def test_killed_mid_task__delivered_again_and_completed_once(env, tmp_path, massive):
    """
    kill -9 of the worker while a daily-bars refresh waits on the provider: the unacknowledged
    task goes back to the queue after the visibility timeout, a new worker completes it,
    and every (stock, day) bar is there exactly once.
    """
    env = {
        **env,
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "8",
        "CELERY_TASK_SOFT_TIME_LIMIT": "5",
        "CELERY_TASK_TIME_LIMIT": "6",
        "TASK_LOCK_SECONDS": "2",
    }
    # Each stock has a bar on the session 3 before the last: 3 days of bars are due.
    days = query(env, _SEED_BARS)
    seeded, due = days[0], days[1:]
    massive.hold(f"/stocks/{due[1]}")  # the second of the three days hangs
    first = start_worker(env, tmp_path)
    out = manage(env, "refresh_market_data", "--bars", "--async")
    task_id = out.strip().rsplit(" ", 1)[1]
    assert massive.held.wait(30), first.log()[-3000:]
    stored_before_kill = query(
        env, "from stocks.models import PriceBar; print(PriceBar.objects.count())"
    )
    assert stored_before_kill == 3 + 3  # the first day's bars are in; the second's are not
    first.kill()
    massive.release.set()
    massive.hold_path = None

    time.sleep(8.5)  # the visibility timeout: the broker hands the task out again
    second = start_worker(env, tmp_path)
    try:
        second.wait_for(rf"refresh_daily_bars\[{task_id}\] succeeded", timeout=60)
        bars = query(env, _BARS_BY_DAY)
        expected = [[t, day, 1] for t in ("AAPL", "BRK.B", "MSFT") for day in [seeded, *due]]
        assert bars == expected
        assert second.log().count(f"refresh_daily_bars[{task_id}] succeeded") == 1
        assert f"refresh_daily_bars[{task_id}] succeeded" not in first.log()
    finally:
        second.stop()


def test_pool_child_killed_mid_task__requeued_at_once_and_takes_its_lock_back(
    env, tmp_path, massive
):
    """
    kill -9 of the pool process running a refresh (the OOM killer's way): Celery puts the
    task back at once (task_reject_on_worker_lost); the lock the dead child held names the
    same task, so the new delivery takes it back instead of being skipped as a duplicate.
    """
    import os
    import signal

    import psutil

    days = query(env, _SEED_BARS)
    massive.hold(f"/stocks/{days[2]}")
    worker = start_worker(env, tmp_path)
    try:
        task_id = manage(env, "refresh_market_data", "--bars", "--async").strip().rsplit(" ", 1)[1]
        assert massive.held.wait(30), worker.log()[-3000:]
        (child,) = psutil.Process(worker.process.pid).children()
        os.kill(child.pid, signal.SIGKILL)
        massive.release.set()
        massive.hold_path = None
        worker.wait_for(rf"refresh_daily_bars\[{task_id}\] succeeded", timeout=60)
        assert f"task {task_id} delivered again; it takes its lock back" in worker.log()
        bars = query(env, _BARS_BY_DAY)
        assert bars == [[t, day, 1] for t in ("AAPL", "BRK.B", "MSFT") for day in days]
    finally:
        worker.stop()


def test_failing_provider_opens_the_breaker_and_a_success_closes_it(env, tmp_path, massive):
    env = {
        **env,
        "PROVIDER_BREAKER_FAILURES": "2",
        "PROVIDER_BREAKER_COOLDOWN_SECONDS": "10",
        "PROVIDER_MAX_ATTEMPTS": "1",
    }
    state = (
        "from stocks.providers.breaker import CircuitBreaker; "
        "print(json.dumps(CircuitBreaker('massive', 'quotes').state().state))"
    )
    massive.fail(1000, status=503)
    worker = start_worker(env, tmp_path)
    try:
        for _ in range(2):
            manage(env, "refresh_market_data", "--quotes", "--async")
        wait_until(lambda: query(env, state) == "open")
        calls_when_opened = massive.count("/v2/snapshot/")
        assert calls_when_opened == 2
        manage(env, "refresh_market_data", "--quotes", "--async")
        worker.wait_for(r"refresh-quotes: skipped \(massive quotes: circuit open")
        assert massive.count("/v2/snapshot/") == calls_when_opened  # not asked while open
        report = query(env, "from stocks.health.status import system_status; "
                       "print(json.dumps(system_status().provider))")  # fmt: skip
        assert report["endpoints"]["quotes"]["state"] == "open"

        massive.fail(0)
        # The cool-down is over: half-open, or already closed by a retry of the failed tasks.
        wait_until(lambda: query(env, state) in ("half-open", "closed"), timeout=30)
        manage(env, "refresh_market_data", "--quotes", "--async")
        wait_until(lambda: query(env, state) == "closed")
        wait_until(lambda: query(env, PRICE) in REFRESHED)
        assert "circuit closed, the provider answered again" in worker.log()
    finally:
        worker.stop()


def test_beat_enqueues_on_its_schedule(env, tmp_path, broker):
    """Beat with a 1-second interval from the environment puts the task on the broker."""
    env = {**env, "BEAT_WARM_CACHE": "1"}
    beat = start_beat(env, tmp_path)
    try:
        client = redis.Redis.from_url(broker.url)
        wait_until(lambda: client.llen("celery") >= 2, timeout=30)
    finally:
        beat.stop()
    names = {json.loads(message)["headers"]["task"] for message in client.lrange("celery", 0, -1)}
    assert "stocks.tasks.warm_cache" in names
    assert "Scheduler: Sending due task warm-cache" in beat.log()
    # Its state: in the temp directory (CELERY_BEAT_SCHEDULE_FILENAME's default), not the project.
    assert list(tmp_path.glob("stockscanner-celerybeat-schedule*"))
    assert not list(BASE_DIR.glob("celerybeat-schedule*"))


def test_worker_and_beat_keep_the_database_current(env, tmp_path, massive):
    """
    README's worker and beat commands, MARKET_DATA_PROVIDER=massive, a server that answers
    like Massive, the quotes refresh every 2 s: the stored quotes follow the snapshot with
    no command from anyone, run after run (while the market is open each run asks the
    snapshot again; outside it the close, once stored, leaves nothing to ask).
    """
    env = {**env, "BEAT_QUOTES": "2"}
    worker = start_worker(env, tmp_path)
    beat = start_beat(env, tmp_path)
    is_open = (
        "from django.utils import timezone; from stocks.market_calendar import get_calendar; "
        "print(json.dumps(get_calendar().is_open(timezone.now())))"
    )
    try:
        wait_until(lambda: query(env, PRICE) in REFRESHED)
        runs = r"refresh_quotes\[[0-9a-f-]+\] succeeded"
        wait_until(lambda: len(re.findall(runs, worker.log())) >= 3, timeout=30)
        if query(env, is_open):
            assert massive.count("/v2/snapshot/") >= 3  # each run asked again
        else:  # the close stored once, the later runs had nothing to ask
            assert massive.count("/v2/snapshot/") == 1
            assert "refreshed 0 quotes: the market is closed" in worker.log()
    finally:
        beat.stop()
        worker.stop()
