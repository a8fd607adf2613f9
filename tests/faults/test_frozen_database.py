"""
The database freezes under 16-way load (finding: every worker hung on API queries and
/health/ waited 9 s, then said ok). gunicorn as shipped (5 sync workers), on a scratch
database behind a TCP proxy that stops forwarding: nothing is refused, nothing answers.
Every request needs the database here (no response cache, the SQL screen): the worst case.
"""

from __future__ import annotations

import random

import pytest

from ..support.live import Instance, app_env, free_port, prepare
from ..support.load import Fault, Load, Probe, figures, random_screen
from ..support.servers import scratch_database
from ..support.tcp_proxy import TcpProxy

CLIENTS = 16
FROZEN_SECONDS = 8
TICKERS = [f"FZ{n:03d}" for n in range(200)]
SETUP = f"""
from tests.factories import StockFactory
for ticker in {TICKERS!r}:
    StockFactory(ticker=ticker)
"""


_RNG = random.Random(7)


def _path() -> str:
    if _RNG.random() < 0.5:
        return f"/api/stocks/{_RNG.choice(TICKERS)}/"
    return random_screen(_RNG)


@pytest.fixture
def frozen_stack(tmp_path):
    with scratch_database() as database:
        proxy = TcpProxy((database.host, database.port)).start()
        port = free_port()
        env = app_env(
            tmp_path, port,
            workers=5, GUNICORN_THREADS="1",  # as shipped: sync workers
            DATABASE_URL=database.url(*proxy.address),
            RESPONSE_CACHE_ENABLED="false", SCREEN_ENGINE="sql", RATE_LIMITS_ENABLED="false",
        )  # fmt: skip
        prepare(env, SETUP)
        instance = Instance(env, port, tmp_path / "gunicorn.log").start()
        try:
            yield port, proxy, instance
        finally:
            instance.kill()
            proxy.cut()


def test_frozen_database__health_503_within_2s_api_json_503_then_recovers(frozen_stack):
    port, proxy, instance = frozen_stack
    with Load(port, _path, CLIENTS) as load, Probe(port, "/health/") as probe:
        fault = Fault.run(proxy.freeze, proxy.thaw, before=3, during=FROZEN_SECONDS, after=5)
    frozen_at, thawed_at = fault.started_at, fault.ended_at

    before, during, after = fault.before(load), fault.during(load), fault.after(load)
    figures("API before the freeze", before, frozen_at - before[0].at)
    figures(f"API during the {FROZEN_SECONDS} s freeze", during, FROZEN_SECONDS)
    figures("API after the thaw", after, fault.finished_at - thawed_at)
    health_during = probe.between(frozen_at + 0.05, thawed_at)
    figures("/health/ during the freeze", health_during)
    recovered = next(s.at + s.seconds for s in after if s.status == 200)
    healthy = next(s.at + s.seconds for s in probe.between(thawed_at) if s.status == 200)
    print(
        f"recovery after the thaw: API {recovered - thawed_at:.2f} s, "
        f"/health/ {healthy - thawed_at:.2f} s"
    )

    assert {s.status for s in before} == {200}
    # Nothing but answers and the documented JSON 503: no 500, no reset, no HTML.
    assert {(s.status, s.code) for s in during} <= {(200, None), (503, "database_unavailable")}
    assert sum(1 for s in during if s.status == 503) > 50  # answered, not held
    assert health_during and all(s.status == 503 for s in health_during), health_during
    assert max(s.seconds for s in health_during) < 2.0
    assert {(s.status, s.code) for s in after} <= {(200, None), (503, "database_unavailable")}
    assert recovered - thawed_at < 3
    assert healthy - thawed_at < 3
    assert [s.status for s in after[-20:]] == [200] * 20
    assert "Traceback" not in instance.log()
