"""The slow view the shutdown test keeps in flight while gunicorn gets SIGTERM."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse

# Big enough that a response cut short by the shutdown would show.
PAYLOAD = "0123456789abcdef" * 16_384


def slow(request):
    """Say it has started, take SLOW_VIEW_SECONDS, answer a known body. No database."""
    Path(settings.SLOW_VIEW_MARKER).write_text(str(os.getpid()))
    time.sleep(settings.SLOW_VIEW_SECONDS)
    return JsonResponse({"slept": settings.SLOW_VIEW_SECONDS, "payload": PAYLOAD})
