"""Settings for the test suite: the real settings, made fast and hermetic."""

from .settings import *  # noqa: F403
from .settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "stockscanner-tests",
    }
}
DEBUG = False
# Each test database connection is opened and closed by the test runner.
DATABASES["default"]["CONN_MAX_AGE"] = 0
