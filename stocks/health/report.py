"""A run of health checks as operators read it (/health/detailed/, system_health), and versions."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings

from .base import DEGRADED, DOWN, CheckResult, overall_status

PACKAGES = ("django", "djangorestframework", "celery", "django-redis", "gunicorn")


@dataclass(frozen=True)
class HealthReport:
    results: list[CheckResult]

    @property
    def status(self) -> str:
        return overall_status(self.results)

    @property
    def down(self) -> bool:
        return self.status == DOWN

    @property
    def degraded(self) -> bool:
        return self.status == DEGRADED

    def categories(self) -> dict[str, list[CheckResult]]:
        grouped: dict[str, list[CheckResult]] = {}
        for result in self.results:
            grouped.setdefault(result.category, []).append(result)
        return grouped

    def as_dict(self) -> dict[str, Any]:
        """The overall status and the checks by category."""
        return {
            "status": self.status,
            "categories": {
                category: [result.as_dict() for result in results]
                for category, results in self.categories().items()
            },
        }


def versions() -> dict[str, str]:
    """Python, the app, and the packages that decide how it behaves."""
    found = {"python": platform.python_version(), "app": settings.SPECTACULAR_SETTINGS["VERSION"]}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
