"""Benchmark settings: the real settings, a separate database, a trivial baseline view."""

import os

from stockscanner_django.settings import *  # noqa: F403
from stockscanner_django.settings import BASE_DIR, DATABASES

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["testserver"]
DEBUG = False
LOGGING_CONFIG = None  # quiet: the slow-request log would only add noise to timings

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["NAME"] = os.environ.get(
        "BENCH_SQLITE", str(BASE_DIR / "bench" / "results" / "bench.sqlite3")
    )
else:
    _db["NAME"] = os.environ.get("BENCH_DB_NAME", "stockscanner_bench")
