"""gunicorn settings: `gunicorn -c gunicorn.conf.py stockscanner_django.wsgi`.

Worker count, timeouts and recycling come from the same environment variables as the
Django settings' GUNICORN block (which /system/memory/ reports).
"""

import gc
import os

from stockscanner_django.settings import GUNICORN

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
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
# No cap on the request line (0; gunicorn's largest finite cap is 8190 bytes): a screen of
# 500 share-class tickers is longer, and an over-long query string must reach Django to be
# answered with the JSON error, not gunicorn's HTML 400. The load balancer bounds requests.
limit_request_line = 0
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
