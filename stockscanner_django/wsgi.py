"""WSGI entry point (gunicorn stockscanner_django.wsgi)."""

import os

import django
from django.urls import get_resolver

from .handler import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockscanner_django.settings")

# As django.core.wsgi.get_wsgi_application(), with the handler that remembers each path's
# URL resolution (stockscanner_django/handler.py).
django.setup(set_prefix=False)
application = WSGIHandler()

# The URLconf, and with it every view and all they import (DRF, the schema, numpy, the
# screen engine: about 17 MB), imported now rather than on a worker's first request.
# gunicorn imports this module once in its master (preload_app) and forks the workers from
# it, so they share those pages instead of each holding its own copy (bench/load.py: added
# RSS per worker).
get_resolver().url_patterns  # noqa: B018 - imported for its side effect
