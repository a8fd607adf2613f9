"""Logging helpers: every record carries the id of the request it belongs to."""

from __future__ import annotations

import logging

from .request_context import request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
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
