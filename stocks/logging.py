"""Logging helpers: every record carries the id of the request it belongs to."""

from __future__ import annotations

import logging

from .request_context import request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
