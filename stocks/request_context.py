"""The current request's id, visible to logging anywhere in the request's thread."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
