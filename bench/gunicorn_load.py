"""
gunicorn settings for the load run: the production ones (../gunicorn.conf.py) as they are,
but with the access log off, since writing a line per request would be timed too.

Worker count, threads and recycling still come from the environment (WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_MAX_REQUESTS), which bench/load.py sets.
"""

import runpy
from pathlib import Path

globals().update(
    {
        name: value
        for name, value in runpy.run_path(
            str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py")
        ).items()
        if not name.startswith("_")
    }
)
accesslog = None
