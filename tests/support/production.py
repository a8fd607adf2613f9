"""The production environment README.md documents, and .env.example's placeholders."""

from __future__ import annotations

from .live import BASE_DIR

GOOD_KEY = "q8Vz3LmP0xKf7RtY2wHn5JdC9sGb4UaE1oNiXe6TyQc8ZrMvBk"  # random, 50 characters

# The production environment README.md documents ("Production"), as check --deploy sees it.
DOCUMENTED_PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": GOOD_KEY,
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "TRUSTED_PROXY_COUNT": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
}


def example_value(name: str) -> str:
    """``name``'s value in .env.example."""
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not in .env.example")
