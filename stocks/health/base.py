"""The shape of a health check and of its result, and running one under a time limit."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger("stocks.health")

OK, DEGRADED, DOWN = "ok", "degraded", "down"
_SEVERITY = {OK: 0, DEGRADED: 1, DOWN: 2}


class CheckDown(Exception):
    """The dependency is unusable; the message is safe to show to operators."""

    status = DOWN

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class CheckDegraded(CheckDown):
    """The dependency works but something needs attention."""

    status = DEGRADED


class _NoAnswer(Exception):
    """The check did not finish within its time limit."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    category: str
    status: str
    message: str
    duration_ms: float
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "status": self.status,
            "message": self.message,
            "duration_ms": round(self.duration_ms, 2),
            "details": self.details,
        }


class HealthCheck:
    """
    One dependency. Subclasses set ``name`` and ``category`` and implement ``check()``,
    which returns a message (or a ``(message, details)`` pair) when all is well and raises
    ``CheckDegraded`` / ``CheckDown`` otherwise. Anything else it raises is reported as
    down with a generic message (the traceback goes to the log, not to the client).

    ``uses_database``: the check needs the database (it is skipped once the database
    check is down). ``inline``: it runs in the calling thread, on the request's Django
    connection, bounded by that connection's own timeouts. Every other check runs in a
    daemon thread of its own and is abandoned after ``HEALTH_CHECK_TIMEOUT_SECONDS``; while
    an abandoned run is still hung, later callers wait on that same run instead of starting
    another, so a dead service holds at most one thread per check and never starves the
    others (and a command's process can still exit).
    """

    name = ""
    category = ""
    uses_database = False
    inline = False
    # What no answer in time means. A dependency the API can do without (cache, queue)
    # degrades when it hangs, just as when it refuses: a hung Redis must not fail readiness.
    timeout_status = DOWN

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: Future | None = None
        self._running_since = 0.0

    def check(self) -> str | tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def run(self) -> CheckResult:
        started = time.perf_counter()
        try:
            outcome = self.check() if self.inline else self._bounded()
            message, details = outcome if isinstance(outcome, tuple) else (outcome, {})
            status = OK
        except _NoAnswer as exc:
            status, message, details = self.timeout_status, str(exc), {}
        except CheckDown as exc:
            status, message, details = exc.status, str(exc), exc.details
        except Exception:
            logger.exception("health check %s failed unexpectedly", self.name)
            status, message, details = DOWN, "unexpected error (see the server log)", {}
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(self.name, self.category, status, message, elapsed, details)

    def _bounded(self):
        """check() in a thread of its own (or the run still going), waited for a while."""
        limit = settings.HEALTH_CHECK_TIMEOUT_SECONDS
        with self._lock:
            running = self._running
            if running is None or running.done():
                running = self._running = Future()
                self._running_since = time.monotonic()
                threading.Thread(
                    target=self._in_thread, args=(running,), name=f"health-{self.name}", daemon=True
                ).start()
                waited = None
            else:
                waited = time.monotonic() - self._running_since
        done, _pending = wait([running], timeout=limit)
        if not done:
            if waited is None:
                raise _NoAnswer(f"no answer within {limit}s")
            raise _NoAnswer(
                f"no answer within {limit}s (a run started {waited:.0f}s before is hung)"
            )
        return running.result()  # the check's own exceptions, as if it had run here

    def _in_thread(self, future: Future) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self.check())
        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller, which reports it
            future.set_exception(exc)
        finally:
            connections.close_all()  # this thread's own connections, if any were opened


def overall_status(results: list[CheckResult]) -> str:
    """The worst status among the results (ok when there are none)."""
    return max((r.status for r in results), key=_SEVERITY.__getitem__, default=OK)
