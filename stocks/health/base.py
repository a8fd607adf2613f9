"""The shape of a health check and of its result."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger("stocks.health")

OK, DEGRADED, DOWN = "ok", "degraded", "down"
_SEVERITY = {OK: 0, DEGRADED: 1, DOWN: 2}

# Checks that do not touch the database run here, so a hung socket cannot hold a request.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


class CheckDown(Exception):
    """The dependency is unusable; the message is safe to show to operators."""

    status = DOWN


class CheckDegraded(CheckDown):
    """The dependency works but something needs attention."""

    status = DEGRADED


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

    Checks that use the database run in the calling thread (Django connections belong to
    their thread) and are bounded by the connection's own timeouts; the others run in a
    worker thread and are abandoned after ``HEALTH_CHECK_TIMEOUT_SECONDS``.
    """

    name = ""
    category = ""
    uses_database = False
    # What no answer in time means. A dependency the API can do without (cache, queue)
    # degrades when it hangs, just as when it refuses: a hung Redis must not fail readiness.
    timeout_status = DOWN

    def check(self) -> str | tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def run(self) -> CheckResult:
        started = time.perf_counter()
        try:
            if self.uses_database:
                outcome = self.check()
            else:
                outcome = _pool.submit(self._in_thread).result(
                    timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS
                )
            message, details = outcome if isinstance(outcome, tuple) else (outcome, {})
            status = OK
        except FutureTimeout:
            status = self.timeout_status
            message = f"no answer within {settings.HEALTH_CHECK_TIMEOUT_SECONDS}s"
            details = {}
        except CheckDown as exc:
            status, message, details = exc.status, str(exc), {}
        except Exception:
            logger.exception("health check %s failed unexpectedly", self.name)
            status, message, details = DOWN, "unexpected error (see the server log)", {}
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(self.name, self.category, status, message, elapsed, details)

    def _in_thread(self):
        try:
            return self.check()
        finally:
            connections.close_all()  # this thread's own connections, if any were opened


def overall_status(results: list[CheckResult]) -> str:
    """The worst status among the results (ok when there are none)."""
    return max((r.status for r in results), key=_SEVERITY.__getitem__, default=OK)
