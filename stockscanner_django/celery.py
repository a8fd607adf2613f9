"""
The Celery app. Configuration lives in Django settings under the CELERY_ prefix.

Workers and beat log through Django's ``LOGGING`` (``LOG_FORMAT``, ``LOG_LEVEL``,
``LOG_FILE``), not Celery's own setup: with a ``setup_logging`` receiver connected, Celery
leaves logging alone, so a worker's lines are shaped like the web's, each with the task's
name and id (``stocks.logging.TaskFilter``). ``--loglevel`` is then ignored: set LOG_LEVEL.
"""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockscanner_django.settings")

app = Celery("stockscanner")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**_kwargs) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
