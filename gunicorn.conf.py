"""gunicorn settings: `gunicorn -c gunicorn.conf.py stockscanner_django.wsgi`.

Worker count, timeouts and recycling come from the same environment variables as the
Django settings' GUNICORN block (which /system/memory/ reports).
"""

import gc
import glob
import os
import tempfile

# prometheus-client's multiprocess mode (stocks/metrics.py): each worker writes its figures
# to files in this directory and /metrics sums them. Set before the app is imported (the
# mode is chosen then); a directory of its own unless PROMETHEUS_MULTIPROC_DIR names one,
# emptied at each start so an earlier run's figures are not counted again.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="stockscanner-metrics-"
)
os.makedirs(metrics_dir, exist_ok=True)
for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
    os.remove(stale)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

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


def child_exit(server, worker):
    # A dead worker's gauges (in-flight requests, its snapshot) leave the sums; its counters
    # and histograms stay in the totals.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
