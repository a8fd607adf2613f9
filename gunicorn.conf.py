"""gunicorn settings: `gunicorn -c gunicorn.conf.py stockscanner_django.wsgi`.

Worker count, timeouts and recycling come from the same environment variables as the
Django settings' GUNICORN block (which /system/memory/ reports).
"""

import gc
import os

from stocks import metrics_dir as metrics_files

# prometheus-client's multiprocess mode (stocks/metrics.py, stocks/metrics_dir.py): every
# worker writes its figures to files in one directory and /metrics sums them. Chosen before
# the app is imported (the mode is decided then): METRICS_DIR, else a new temporary one.
metrics_directory = metrics_files.choose(os.environ.get("METRICS_DIR"))

from stockscanner_django.settings import GUNICORN  # noqa: E402 - after the metrics directory

# Unset or empty (as in .env.example): every interface, on PORT (8000).
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = GUNICORN["workers"]
threads = GUNICORN["threads"]
# A worker that does not answer for this long is killed and replaced.
timeout = GUNICORN["timeout"]
# On SIGTERM, in-flight requests get this long to finish before workers are stopped.
graceful_timeout = GUNICORN["graceful_timeout"]
keepalive = 5
# Recycle workers now and then so slow leaks cannot grow without bound.
max_requests = GUNICORN["max_requests"]
max_requests_jitter = GUNICORN["max_requests_jitter"]
# The request line is capped (gunicorn's largest cap, 8190 bytes): an unbounded one is
# read in quadratic time. nginx in front (deploy/nginx) caps it first, at 8 KB, and answers
# the JSON 414; a screen longer than a URL goes as POST /api/stocks/screen/. Called
# directly, gunicorn answers an over-long line with its own (HTML) 400: run it behind the
# proxy.
limit_request_line = 8190
# Header count: bounded by nginx's header buffers, not by gunicorn's HTML 431 after 100.
limit_request_fields = 32768
# Schemes are Django's business (SECURE_PROXY_SSL_HEADER, only with TRUSTED_PROXY_COUNT):
# gunicorn reads none of the scheme headers a client could write.
secure_scheme_headers = {}
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Import the app once, in the master, and freeze what the import made before forking:
# the workers share those pages copy-on-write instead of each importing Django, DRF and
# numpy (and the cyclic collector never touches, so never copies, them).
preload_app = True


def pre_fork(server, worker):
    gc.freeze()


def on_starting(server):
    # Once per start, never on a reload (HUP re-reads this file): the totals survive it.
    metrics_files.empty(metrics_directory)


def post_fork(server, worker):
    metrics_files.ensure(metrics_directory)  # a temp cleaner may have removed it


def child_exit(server, worker):
    # A dead worker's gauges (in-flight requests, its snapshot) leave the sums; its counters
    # and histograms stay in the totals, folded into one archive file per kind.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_directory)
    try:
        metrics_files.fold(metrics_directory, worker.pid)
    except Exception as exc:  # noqa: BLE001 - never stop the master over its metrics
        server.log.warning("metrics of worker %s not folded: %s", worker.pid, exc)


def on_exit(server):
    metrics_files.remove(metrics_directory)
