"""
Scale-out, shown (finding: SIGTERM under load reset 10 of 16 requests in flight): two
gunicorn instances behind nginx (deploy/nginx), sharing one database.
Under steady load a rolling restart (SIGTERM to each in turn, then started again) loses no
request: gunicorn drains what it has accepted, nginx sends the rest to the other instance.
kill -9 of one instance refuses no request and answers none with an error: what had not
reached the dead instance's answer is retried on the other. Only a response being written at
the instant of the kill is cut short (nginx has sent its headers and cannot retry it): the
client sees a truncated body, rarely (0 to 3 in about 2,000 here).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from ..support.live import Instance, app_env, free_port, prepare
from ..support.load import Load, Probe, figures
from ..support.nginx import nginx

CLIENTS = 6
FAIL_TIMEOUT = 2  # seconds nginx leaves an instance alone after it failed (passive checks)
# nginx keeps time in whole seconds: a failed instance is tried again up to FAIL_TIMEOUT + 1 s
# after its last failure, and the first request that reaches it takes it back. The rest is
# room for a loaded machine.
ROUTED_WITHIN = 10
PATH = "/api/stocks/?page_size=5&ordering=-market_cap"
SETUP = """
from tests.factories import StockFactory
for n in range(40):
    StockFactory(ticker=f"SO{n:02d}", market_cap=10**9 + n)
"""


@pytest.fixture
def pair(tmp_path):
    """Two instances of the app on one database, and nginx in front of both."""
    ports = [free_port(), free_port()]
    envs = [
        # The access log on, whatever the environment says: the restart waits on it.
        app_env(tmp_path, port, workers=2, RATE_LIMITS_ENABLED="false", GUNICORN_ACCESS_LOG="-")
        for port in ports
    ]
    prepare(envs[0], SETUP)
    instances = [
        Instance(env, port, tmp_path / f"gunicorn-{n}.log")
        for n, (env, port) in enumerate(zip(envs, ports, strict=True))
    ]
    upstreams = [
        f"server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;" for port in ports
    ]
    try:
        for instance in instances:
            instance.start()
        with nginx(tmp_path, upstreams) as proxy:
            yield proxy, instances
    finally:
        for instance in instances:
            instance.kill()


def test_kill_9_of_one_instance_refuses_nothing(pair):
    proxy, (first, _) = pair
    with Load(proxy, [PATH], CLIENTS) as load, Probe(proxy, "/health/") as probe:
        time.sleep(1.5)
        first.kill()
        time.sleep(2.5)
    figures("kill -9 of one of two instances", load.samples)
    figures("/health/ through nginx meanwhile", probe.samples)
    assert {s.status for s in probe.samples} == {200}
    assert max(s.seconds for s in probe.samples) < 2.0
    statuses = [s.status for s in load.samples]
    assert set(statuses) <= {200, "truncated"}, set(statuses)
    assert statuses.count("truncated") <= CLIENTS  # at most the responses in flight at the kill
    assert statuses.count(200) > 50


def test_rolling_restart_loses_no_request(pair, tmp_path):
    proxy, instances = pair
    with Load(proxy, [PATH], CLIENTS) as load, Probe(proxy, "/health/") as probe:
        time.sleep(1.0)
        for instance in instances:
            assert instance.terminate() == 0  # drained and exited cleanly
            started_at = instance.log_size()
            instance.start()  # the new release, on the same port, answering its probe
            # Before the next one goes: nginx sends the restarted instance its share of the
            # load again (README's recipe waits for the same). Until then it may still count
            # the instance failed, and stopping the other one would leave it nothing.
            _wait_until_routed(instance, started_at)
    evidence = _timeline(load.samples) + "\n" + _tail(tmp_path / "error.log")
    figures("rolling restart of two instances", load.samples)
    figures("/health/ through nginx meanwhile", probe.samples)
    assert {s.status for s in probe.samples} == {200}, evidence
    assert max(s.seconds for s in probe.samples) < 2.0, evidence
    assert {s.status for s in load.samples} == {200}, evidence
    assert len(load.samples) > 50


def _wait_until_routed(instance, since: int, answers: int = 20) -> None:
    """Until ``answers`` proxied requests reached ``instance`` after byte ``since`` of its log."""
    deadline = time.monotonic() + ROUTED_WITHIN
    while instance.log_since(since).count(f'"GET {PATH} '.encode()) < answers:
        assert time.monotonic() < deadline, f"nginx sent no load to :{instance.port} again"
        time.sleep(0.1)


def _timeline(samples) -> str:
    """Answers by second of the run and status: where any failure fell."""
    start = min(s.at for s in samples)
    by_second = Counter((int(s.at - start), str(s.status)) for s in samples)
    ordered = sorted(by_second.items())
    return "\n".join(f"second {sec}: {status} x {n}" for (sec, status), n in ordered)


def _tail(path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
