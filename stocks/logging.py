"""Logging helpers: every record carries the id of the request it belongs to."""

from __future__ import annotations

import logging
import threading
import time

from .request_context import request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class TaskFilter(logging.Filter):
    """
    In a Celery worker, every record carries the running task's name and id (JSON:
    ``task_name``, ``task_id``; text: ``task=<name>[<id>]`` before the message); elsewhere
    they are null and the text prefix is empty.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from celery import current_task

        task = current_task._get_current_object() if current_task else None
        request = getattr(task, "request", None) if task is not None else None
        task_id = getattr(request, "id", None)
        record.task_name = task.name if task_id else None
        record.task_id = task_id
        record.task = f"task={task.name}[{task_id}] " if task_id else ""
        return True


class OneLine(logging.Filter):
    """
    A client's mistake is one line, never a traceback: Django logs a bad ``Host`` (and
    other suspicious requests) on ``django.security.*`` with the exception attached. On the
    handlers, since a logger's filters do not apply to its children's records.
    """

    PREFIX = "django.security"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(self.PREFIX):
            record.exc_info = None
            record.exc_text = None
        return True


class OncePerInterval(logging.Filter):
    """
    A dependency that fails fails for every request: keep the first record of an outage,
    then one per ``seconds`` saying how many were dropped meanwhile, without tracebacks
    (the exception's type and message are in the line).
    """

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last = -1e18
        self._dropped = 0
        self._lock = threading.Lock()
        self.clock = time.monotonic  # a seam for the tests

    def reset(self) -> None:
        """Forget the interval: the next record is the first of an outage (tests)."""
        with self._lock:
            self._last, self._dropped = -1e18, 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        with self._lock:
            if now - self._last < self.seconds:
                self._dropped += 1
                return False
            dropped, self._dropped, self._last = self._dropped, 0, now
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = ()
        record.exc_info = None
        record.exc_text = None
        if dropped:
            record.msg = f"{record.getMessage()} ({dropped} more since the last report)"
            record.args = ()
        return True
