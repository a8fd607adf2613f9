"""
Error mail to ADMINS that does not flood: at most one mail per error signature per
``ERROR_EMAIL_INTERVAL`` seconds, the next one saying how many were left unsent meanwhile.

A signature is the exception's type and where in our code it was raised (the innermost
frame of the project's own code, else the innermost frame), or, for an error logged without
an exception, the logger and the line that logged it. Five hundred requests failing on the
same line are one mail; a second bug is a mail of its own.

Who sent what is kept in the cache, so with Redis every worker and every box shares one
budget per signature. While the cache cannot keep values (Redis down), each process keeps
its own: a mail may then go once per process, never once per error.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import traceback

from django.conf import settings
from django.core.cache import cache
from django.utils.log import AdminEmailHandler

from .cache_namespaces import cache_key

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A suppressed count outlives any sensible interval, but not for ever.
COUNT_SECONDS = 7 * 24 * 3600


def signature(record) -> str:
    """``ValueError at stocks/screen/paging.py:120 in decode``, or the logging line's own."""
    if record.exc_info and record.exc_info[0] is not None:
        kind, _, tb = record.exc_info
        frames = traceback.extract_tb(tb)
        ours = [f for f in frames if _is_ours(f.filename)]
        where = (ours or frames)[-1] if frames else None
        name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
        if where is None:
            return name
        return f"{name} at {_relative(where.filename)}:{where.lineno} in {where.name}"
    return f"{record.name} at {_relative(record.pathname)}:{record.lineno}"


def _is_ours(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(PROJECT_DIR + os.sep) and os.sep + "site-packages" + os.sep not in path


def _relative(filename: str) -> str:
    path = os.path.abspath(filename)
    return os.path.relpath(path, PROJECT_DIR) if _is_ours(path) else filename


class _LocalBudget:
    """The process's own record, for while the cache cannot keep values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def admit(self, digest: str, interval: float) -> int | None:
        now = time.monotonic()
        with self._lock:
            if now - self._sent.get(digest, -1e18) < interval:
                self._suppressed[digest] = self._suppressed.get(digest, 0) + 1
                return None
            self._sent[digest] = now
            return self._suppressed.pop(digest, 0)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
            self._suppressed.clear()


_local = _LocalBudget()


def admit(sig: str) -> int | None:
    """
    None: do not mail ``sig`` now (counted as suppressed). Otherwise mail it, and the number
    returned is how many of it were suppressed since its last mail.
    """
    interval = settings.ERROR_EMAIL_INTERVAL
    if interval <= 0:
        return 0
    digest = hashlib.blake2b(sig.encode(), digest_size=12).hexdigest()
    sent, suppressed = (
        cache_key("alerts", "sent", digest),
        cache_key("alerts", "suppressed", digest),
    )
    try:
        if cache.add(sent, 1, timeout=interval):
            count = cache.get(suppressed) or 0
            if count:
                cache.delete(suppressed)
            return int(count)
        if cache.get(sent) is not None:  # mailed within the interval, by some process
            cache.add(suppressed, 0, timeout=COUNT_SECONDS)
            cache.incr(suppressed)
            return None
    except Exception:  # noqa: BLE001 - the cache failed: this process decides alone
        pass
    # Neither stored nor found: the cache keeps nothing (Redis down, errors ignored).
    return _local.admit(digest, interval)


def forget_local() -> None:
    """Forget this process's own record (tests)."""
    _local.clear()


class ThrottledAdminEmailHandler(AdminEmailHandler):
    """Django's mail to ADMINS, sent at most once per signature per ERROR_EMAIL_INTERVAL."""

    _pending = threading.local()

    def emit(self, record) -> None:
        sig = signature(record)
        suppressed = admit(sig)
        if suppressed is None:
            return
        self._pending.note = (sig, suppressed)
        try:
            super().emit(record)
        finally:
            self._pending.note = None

    def send_mail(self, subject, message, *args, **kwargs):
        sig, suppressed = getattr(self._pending, "note", None) or ("", 0)
        interval = settings.ERROR_EMAIL_INTERVAL
        head = f"Error signature: {sig}\n"
        if interval > 0:
            head += f"At most one mail per signature every {interval:g} seconds.\n"
        if suppressed:
            subject = f"{subject} (+{suppressed} more)"
            head += f"{suppressed} more of this error since the last mail were not mailed.\n"
        super().send_mail(subject, f"{head}\n{message}", *args, **kwargs)
