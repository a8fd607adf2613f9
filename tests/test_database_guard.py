"""
The watchdog and breaker of stocks/database_guard.py on plain sockets (the servers' part is
in test_outage.py: a proxy that freezes MySQL and PostgreSQL).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from stocks import database_guard


class _Raw:
    """A driver connection as the guard sees it: something with a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()


@pytest.fixture
def pair(monkeypatch) -> Iterator[tuple[socket.socket, socket.socket]]:
    # The breaker's probe would ask the test database; here it never answers.
    monkeypatch.setattr(database_guard, "round_trip", _never_answers)
    database_guard.reset()
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()
    database_guard.reset()


def _never_answers(connection, seconds):
    from django.db import OperationalError

    raise OperationalError("still frozen")


def test_wait_past_the_limit__socket_shut_timeout_raised_breaker_open(pair):
    ours, _theirs = pair
    started = time.perf_counter()
    with (
        pytest.raises(database_guard.DatabaseTimeout, match=r"a query within 0\.2s"),
        database_guard.limit(0.2),
        database_guard.bounded(_Raw(ours), "a query"),
    ):
        if ours.recv(1) == b"":  # woken by the shutdown: what a driver sees as an error
            raise ConnectionError("server closed the connection")
    assert 0.2 <= time.perf_counter() - started < 1.0
    assert database_guard.open_for() is not None


def test_breaker_open__refuses_in_requests_only(pair):
    ours, _theirs = pair
    with database_guard.limit(0.1), database_guard.bounded(_Raw(ours), "a query"):
        ours.recv(1)  # cut quietly: still a timeout
    assert database_guard.open_for() is not None
    with (
        pytest.raises(database_guard.DatabaseTimeout, match="not asked"),
        database_guard.limit(0.1),
    ):
        database_guard.refuse_if_open()
    database_guard.refuse_if_open()  # outside a request: commands still ask


def test_answer_within_the_limit__nothing_cut(pair):
    ours, theirs = pair
    theirs.sendall(b"x")
    with database_guard.limit(0.2), database_guard.bounded(_Raw(ours), "a query"):
        assert ours.recv(1) == b"x"
    time.sleep(0.3)  # past the deadline: the released wait is never cut
    theirs.sendall(b"y")
    assert ours.recv(1) == b"y"
    assert database_guard.open_for() is None


def test_no_limit__waits_are_not_watched(pair):
    ours, _theirs = pair
    ours.settimeout(0.4)
    with pytest.raises(TimeoutError), database_guard.bounded(_Raw(ours), "a query"):
        ours.recv(1)  # a command's wait: only its own timeout ends it
    assert database_guard.open_for() is None


def test_widened_for_reads__only_inside_a_bounded_block(db):
    with database_guard.widened_for_reads(30):
        assert not database_guard.active()
    with database_guard.limit(1.0):
        with database_guard.widened_for_reads(30):
            assert database_guard._limit.get() == 30
        assert database_guard._limit.get() == 1.0


def test_an_outage_met_outside_a_view_is_the_503_not_a_500(rf):
    """handler500 (Django's answer to what a middleware raised) knows an outage."""
    from stocks.errors import handler500

    request = rf.get("/api/stocks/")
    try:
        raise database_guard.DatabaseTimeout("not asked")
    except database_guard.DatabaseTimeout:
        response = handler500(request)
    assert response.status_code == 503
    assert response._has_been_logged  # not mailed to ADMINS
    try:
        raise ValueError("a bug")
    except ValueError:
        assert handler500(request).status_code == 500
