"""The project's settings with one slow view added (see urls.py)."""

from stockscanner_django.settings import *  # noqa: F403
from stockscanner_django.settings import env

ROOT_URLCONF = "tests.shutdown_site.urls"

# The slow view writes this file when it starts, so the test knows the request is in flight.
SLOW_VIEW_MARKER = env.str("SLOW_VIEW_MARKER")
SLOW_VIEW_SECONDS = env.float("SLOW_VIEW_SECONDS", default=2.0)
