"""
Benchmark settings: the real settings, a separate database, a trivial baseline view.

Used in-process by bench/run.py and under gunicorn by bench/load.py, which sets
DJANGO_ENV=production and friends in the environment: everything but the database and the
URLconf comes from stockscanner_django.settings as production would have it.
"""

import os

from stockscanner_django.settings import *  # noqa: F403
from stockscanner_django.settings import ALLOWED_HOSTS, BASE_DIR, DATABASES

ROOT_URLCONF = "bench.urls"
# The test client's host, plus whatever the environment allows (the load run's 127.0.0.1).
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
DEBUG = False
# Quiet: the slow-request log would only add noise to timings. Errors still reach stderr
# (Python's last-resort handler), which the load run keeps in bench/results/.
LOGGING_CONFIG = None

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["NAME"] = os.environ.get(
        "BENCH_SQLITE", str(BASE_DIR / "bench" / "results" / "bench.sqlite3")
    )
else:
    _db["NAME"] = os.environ.get("BENCH_DB_NAME", "stockscanner_bench")
