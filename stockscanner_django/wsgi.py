"""WSGI entry point (gunicorn stockscanner_django.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockscanner_django.settings")

application = get_wsgi_application()
