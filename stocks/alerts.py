"""
Error mail to ADMINS that does not flood: at most one mail per error signature per
``ERROR_EMAIL_INTERVAL`` seconds, the next one saying how many were left unsent meanwhile.

A signature is the exception's type and where in our code it was raised (the innermost
frame of the project's own code, passing over the plumbing every request runs through,
else the innermost frame), or, for an error logged without an exception, the logger and the
line that logged it. Five hundred requests failing on the same line are one mail; a second
bug is a mail of its own.

Who sent what is kept where every process sees it: with Redis, one script decides and
counts atomically, so every worker and every box shares one budget per signature; with the
local-memory cache (one process), the cache. While Redis cannot answer, each process keeps
its own budget: a mail may then go once per process, never once per error. A mail that
cannot be sent gives its turn back: the next error of its kind is mailed, with the count.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import traceback

from django.conf import settings
from django.core.cache import cache
from django.utils.log import AdminEmailHandler

from . import shared_redis
from .cache_namespaces import cache_key

logger = logging.getLogger(__name__)

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Our code every query or request passes through: never the place a bug is.
PLUMBING = tuple(
    os.path.join(PROJECT_DIR, "stocks", part)
    for part in ("middleware.py", "database_guard.py", "db_backends" + os.sep, "errors.py")
)
# A suppressed count outlives any sensible interval, but not for ever.
COUNT_SECONDS = 7 * 24 * 3600


def signature(record) -> str:
    """``ValueError at stocks/screen/paging.py:120 in decode``, or the logging line's own."""
    if record.exc_info and record.exc_info[0] is not None:
        kind, _, tb = record.exc_info
        frames = traceback.extract_tb(tb)
        ours = [f for f in frames if _is_ours(f.filename) and not _is_plumbing(f.filename)]
        where = (ours or frames)[-1] if frames else None
        name = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
        if where is None:
            return name
        return f"{name} at {_relative(where.filename)}:{where.lineno} in {where.name}"
    return f"{record.name} at {_relative(record.pathname)}:{record.lineno}"


def _is_ours(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(PROJECT_DIR + os.sep) and os.sep + "site-packages" + os.sep not in path


def _is_plumbing(filename: str) -> bool:
    return os.path.abspath(filename).startswith(PLUMBING)


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

    def forget(self, digest: str) -> None:
        with self._lock:
            self._sent.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
            self._suppressed.clear()


_local = _LocalBudget()


# KEYS: sent, suppressed. ARGV: interval, how long a count is kept. The count held back
# since the last mail (>= 0: mail now), or -1 (counted, do not mail).
_ADMIT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  local held = tonumber(redis.call('GET', KEYS[2]) or '0')
  redis.call('DEL', KEYS[2])
  return held
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return -1
"""


def _keys(sig: str) -> tuple[str, str]:
    digest = hashlib.blake2b(sig.encode(), digest_size=12).hexdigest()
    return cache_key("alerts", "sent", digest), cache_key("alerts", "suppressed", digest)


def admit(sig: str) -> int | None:
    """
    None: do not mail ``sig`` now (counted as suppressed). Otherwise mail it, and the number
    returned is how many of it were suppressed since its last mail.
    """
    interval = settings.ERROR_EMAIL_INTERVAL
    if interval <= 0:
        return 0
    sent, suppressed = _keys(sig)
    if shared_redis.available():
        try:
            held = shared_redis.script(_ADMIT)(
                keys=[cache.make_key(sent), cache.make_key(suppressed)],
                args=[interval, COUNT_SECONDS],
            )
        except Exception:  # noqa: BLE001 - Redis cannot answer: this process decides alone
            return _local.admit(sent, interval)
        return None if int(held) < 0 else int(held)
    if cache.add(sent, 1, timeout=interval):  # the local-memory cache: one process
        return _take(suppressed)
    cache.add(suppressed, 0, timeout=COUNT_SECONDS)
    cache.incr(suppressed)
    return None


def _take(key: str) -> int:
    held = int(cache.get(key) or 0)
    cache.delete(key)
    return held


def give_back(sig: str, held: int) -> None:
    """The mail ``admit`` allowed was not sent: the next error of ``sig`` may go, counting
    this one and the ``held`` ones it would have reported."""
    sent, suppressed = _keys(sig)
    _local.forget(sent)
    try:
        if shared_redis.available():
            client = shared_redis.client()
            client.delete(cache.make_key(sent))
            client.incrby(cache.make_key(suppressed), held + 1)
            client.expire(cache.make_key(suppressed), COUNT_SECONDS)
        else:
            cache.delete(sent)
            cache.add(suppressed, 0, timeout=COUNT_SECONDS)
            cache.incr(suppressed, held + 1)
    except Exception:  # noqa: BLE001 - nothing more to do: the interval will pass
        pass


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

    def connection(self):
        from django.core.mail import get_connection

        # Failures raise here, so a mail not sent gives its turn back (send_mail).
        return get_connection(backend=self.email_backend, fail_silently=False)

    def send_mail(self, subject, message, *args, **kwargs):
        sig, suppressed = getattr(self._pending, "note", None) or ("", 0)
        interval = settings.ERROR_EMAIL_INTERVAL
        head = f"Error signature: {sig}\n"
        if interval > 0:
            head += f"At most one mail per signature every {interval:g} seconds.\n"
        if suppressed:
            subject = f"{subject} (+{suppressed} more)"
            head += f"{suppressed} more of this error since the last mail were not mailed.\n"
        kwargs["fail_silently"] = False  # a failure must give the turn back (below)
        try:
            super().send_mail(subject, f"{head}\n{message}", *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the error itself is logged already
            give_back(sig, suppressed)
            logger.warning("error mail not sent (%s: %s); %s", type(exc).__name__, exc, sig)
