"""
Bounded waits on the database for web requests: a frozen database must not freeze the box.

A database server that hangs (stopped, a stalled disk, a path that drops packets) keeps
its TCP connections open, and its kernel still acknowledges what is sent: no driver error
comes for as long as TCP takes to give up, and every gunicorn worker that asks it a
question hangs with it, ``/health/`` included. Three parts bound that:

- **A deadline per wait.** While a request is served, each round trip to a MySQL or
  PostgreSQL server (a query, Django's connection health check) may take at most
  ``DATABASE_QUERY_TIMEOUT_SECONDS`` (``limit()`` sets another bound for a block, e.g. the
  screen snapshot's build). One watchdog thread per process shuts the socket of a wait
  that outlives its deadline, which wakes the driver with an error: ``DatabaseTimeout``.
  PostgreSQL's libpq has no read timeout of its own, and MySQL's (whole seconds, retried)
  cannot be changed per block, so one mechanism serves both. Commands and Celery tasks
  set no limit: an ``OPTIMIZE`` or an ingest may take as long as it needs.
- **A breaker per process.** After a wait is cut, the process stops asking: queries,
  connects and health checks of web requests fail at once with ``DatabaseTimeout`` (a
  503) while one background thread probes the server on a connection of its own, every
  ``PROBE_INTERVAL_SECONDS``; the first answer closes the breaker. So a frozen database
  costs each worker one deadline, not one per request, and ``/health/`` answers 503 in
  time for the load balancer.
- **No retries.** A timed-out read is answered 503 at once (``errors.py``): retrying it
  would only wait again.

SQLite is a local file (no network to hang on): its waits are bounded by its busy timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import OperationalError

logger = logging.getLogger("stocks.database")

PROBE_INTERVAL_SECONDS = 0.25

# Seconds a web request's round trip may take (None: unbounded, outside requests).
_limit: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "database_wait_limit", default=None
)
# The end of a widened block (monotonic): its round trips together end by then.
_block_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "database_block_deadline", default=None
)


class DatabaseTimeout(OperationalError):
    """The database did not answer in time, or is known not to (the breaker is open)."""


@contextlib.contextmanager
def limit(seconds: float | None) -> Iterator[None]:
    """Bound each round trip in this block to ``seconds`` (None or 0: unbounded)."""
    token = _limit.set(seconds or None)
    try:
        yield
    finally:
        _limit.reset(token)


def request_limit() -> contextlib.AbstractContextManager[None]:
    """The bound of a web request's round trips (``DATABASE_QUERY_TIMEOUT_SECONDS``)."""
    return limit(settings.DATABASE_QUERY_TIMEOUT_SECONDS)


@contextlib.contextmanager
def widened_for_reads(seconds: float) -> Iterator[None]:
    """
    In a bounded block (a request), allow this block's round trips ``seconds`` in all (big
    reads); elsewhere nothing. The default connection is checked and opened first, under
    the request's own bound: a frozen server is found as quickly as by any request.
    """
    if not active():
        yield
        return
    from django.db import connection

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    token = _block_deadline.set(time.monotonic() + seconds)
    try:
        with limit(seconds):
            yield
    finally:
        _block_deadline.reset(token)


def active() -> bool:
    return _limit.get() is not None


# --- the watchdog -----------------------------------------------------------------------


class _Wait:
    __slots__ = ("cancel", "cut", "deadline", "fd")

    def __init__(self, deadline: float, fd: int, cancel: Callable[[], None] | None) -> None:
        self.deadline, self.fd, self.cancel, self.cut = deadline, fd, cancel, False


class _Watchdog:
    """
    One thread that shuts the socket of each wait still registered at its deadline, and
    asks the server to cancel the query it was waiting for.

    Each wait holds a duplicate of the socket's descriptor, closed when the wait ends: the
    driver may close and reopen its connection meanwhile (the number then names another
    socket), but a duplicate always names the socket it was made from.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waits: set[_Wait] = set()
        self._thread: threading.Thread | None = None
        self._wake_at = math.inf  # when the thread wakes next, unless notified
        self._last_deadline = -math.inf

    def watch(self, fd: int, seconds: float, cancel: Callable[[], None] | None) -> _Wait | None:
        """The wait, registered; None when ``fd`` is no longer open (the driver's own error
        comes at once then: nothing to wait for)."""
        try:
            own = os.dup(fd)
        except OSError as exc:
            if exc.errno != errno.EBADF:  # out of descriptors: say so, the wait goes unwatched
                logger.warning("database wait not bounded: %s", exc)
            return None
        wait = _Wait(time.monotonic() + seconds, own, cancel)
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="database-watchdog", daemon=True
                )
                self._thread.start()
            self._waits.add(wait)
            self._last_deadline = wait.deadline
            if wait.deadline < self._wake_at:
                # Only then: waits come in deadline order, so the thread, asleep until an
                # earlier one, wakes once per limit under load, not once per query.
                self._cond.notify()
        return wait

    def release(self, wait: _Wait) -> None:
        with self._cond:
            if wait in self._waits:
                self._waits.discard(wait)
            elif not wait.cut:
                return  # released already
            fd, wait.fd = wait.fd, -1
        if fd >= 0:
            os.close(fd)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for wait in [w for w in self._waits if w.deadline <= now]:
                    self._waits.discard(wait)
                    wait.cut = True
                    _shut(wait.fd)
                    if wait.cancel is not None:
                        try:
                            _in_background(wait.cancel, "database-cancel")
                        except RuntimeError as exc:  # no thread to be had: the cut stands
                            logger.warning("database cancel not sent: %s", exc)
                # With nothing to watch, sleep until the last deadline handed out anyway:
                # the next query's deadline is later, so it needs no notify (a query at a
                # time would otherwise wake this thread twice per query).
                idle = self._last_deadline if self._last_deadline > now else math.inf
                self._wake_at = min((w.deadline for w in self._waits), default=idle)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


def _shut(fd: int) -> None:
    """Shut down the socket ``fd`` (our duplicate: its owner's number is never touched)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _in_background(target: Callable[[], None], name: str) -> None:
    def run() -> None:
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - best effort, off the request's path
            logger.warning("%s failed: %s: %s", name, type(exc).__name__, exc)

    threading.Thread(target=run, name=name, daemon=True).start()


_watchdog = _Watchdog()


def _fileno(raw) -> int | None:
    try:
        return raw.fileno()
    except Exception:  # noqa: BLE001 - a closed or broken connection has no socket
        return None


@contextlib.contextmanager
def bounded(
    raw, what: str, *, refuse: bool = True, cancel: Callable[[], None] | None = None
) -> Iterator[None]:
    """
    One round trip on the driver connection ``raw``, cut at the current limit (and
    ``cancel`` called in the background, to stop the server's work). Answers
    ``DatabaseTimeout`` at once while the breaker is open (unless not ``refuse``: a
    rollback, the probe); opens it when the wait is cut.
    """
    seconds = _limit.get()
    if seconds is None:
        yield
        return
    if (block_ends := _block_deadline.get()) is not None:
        seconds = max(0.0, min(seconds, block_ends - time.monotonic()))
    if refuse:
        refuse_if_open()
    fd = _fileno(raw)
    if fd is None:
        yield
        return
    wait = _watchdog.watch(fd, seconds, cancel)
    if wait is None:
        yield
        return
    try:
        yield
    except Exception as exc:
        _watchdog.release(wait)
        if wait.cut:
            _breaker.trip(what, seconds)
            raise DatabaseTimeout(f"the database did not answer {what} within {seconds}s") from exc
        raise
    finally:
        _watchdog.release(wait)
    if wait.cut:  # the driver took the cut quietly (Django's connection check does)
        _breaker.trip(what, seconds)


def connect_timed_out(exc: Exception) -> None:
    """A web request's connect ran out its timeout: DatabaseTimeout, the breaker opens."""
    if active():
        seconds = settings.DATABASE_CONNECT_TIMEOUT
        _breaker.trip("a connect", seconds)
        raise DatabaseTimeout(f"the database did not answer a connect within {seconds}s") from exc


# --- the breaker --------------------------------------------------------------------------


class _Breaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.opened_at: float | None = None  # monotonic
        self._generation = 0  # a reset() ends the probe of the timeout before it

    def trip(self, what: str, seconds: float) -> None:
        with self._lock:
            if self.opened_at is not None:
                return
            self.opened_at = time.monotonic()
            logger.warning(
                "database did not answer %s within %ss: requests answer 503 without asking "
                "it until it answers a probe",
                what,
                seconds,
            )
            threading.Thread(
                target=self._probe_until_up, args=(self._generation,), daemon=True,
                name="database-probe",
            ).start()  # fmt: skip

    def _probe_until_up(self, generation: int) -> None:
        from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

        connection = connections[DEFAULT_DB_ALIAS]
        first = True
        while generation == self._generation:
            if not first:
                time.sleep(PROBE_INTERVAL_SECONDS)
            first = False
            try:
                round_trip(connection, settings.DATABASE_QUERY_TIMEOUT_SECONDS or 1.0, PROBE_QUERY)
            except DatabaseError:
                continue
            except Exception:  # noqa: BLE001 - never leave the breaker open for good
                logger.warning("database probe failed unexpectedly", exc_info=True)
                continue
            finally:
                connections.close_all()  # this thread's own, if any
            with self._lock:
                if generation != self._generation:
                    return
                down_for = time.monotonic() - (self.opened_at or time.monotonic())
                self.opened_at = None
                self._generation += 1
            logger.warning("database answers again after %.1fs", down_for)
            return

    def reset(self) -> None:
        with self._lock:
            self.opened_at = None
            self._generation += 1


_breaker = _Breaker()


def _after_fork() -> None:
    # A child starts with nothing of its parent's: no open breaker, no watchdog thread.
    global _watchdog, _breaker
    _watchdog, _breaker = _Watchdog(), _Breaker()


os.register_at_fork(after_in_child=_after_fork)


def open_for() -> float | None:
    """Seconds since this process saw the database time out, while it has not answered since."""
    opened = _breaker.opened_at
    return None if opened is None else time.monotonic() - opened


def refuse_if_open() -> None:
    if active() and (down := open_for()) is not None:
        raise DatabaseTimeout(f"not asked: the database has not answered for {down:.1f}s")


def reset() -> None:
    """Forget a timeout (tests)."""
    _breaker.reset()


# The breaker's probe reads a row of the app's own table, as requests do: a server that
# answers ``SELECT 1`` but not that table (a schema change holding it) is not back for them.
PROBE_QUERY = "SELECT id FROM stocks_stock LIMIT 1"


def round_trip(connection, seconds: float, query: str = "SELECT 1") -> None:
    """
    ``query`` on a new connection of ``connection``'s settings, bounded by ``seconds``
    (the connect by the driver's connect timeout): the health check's and the probe's.
    """
    with connection.wrap_database_errors:
        raw = connection.get_new_connection(connection.get_connection_params())
        try:
            with limit(seconds), bounded(raw, "a health check", refuse=False):
                cursor = raw.cursor()
                cursor.execute(query)
                cursor.fetchall()
        finally:
            raw.close()
