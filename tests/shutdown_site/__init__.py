"""A site for tests/test_graceful_shutdown.py: the project plus a slow view, under gunicorn."""
