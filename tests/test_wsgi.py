"""stockscanner_django/wsgi.py: what gunicorn's master imports before it forks workers."""

from __future__ import annotations

import subprocess
import sys

from tests.support.live import BASE_DIR


def test_wsgi__the_views_are_imported_with_the_application():
    """Imported once in the master (preload_app), shared by every forked worker."""
    probe = (
        "import sys, stockscanner_django.wsgi as wsgi; print('stocks.api.views' in sys.modules, "
        "type(wsgi.application).__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # The handler that remembers each path's resolution (tests/test_handler.py).
    assert done.stdout.split() == ["True", "stockscanner_django.handler"]
