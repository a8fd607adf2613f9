"""A URLconf for tests/test_caching.py: the project plus one cached view."""
