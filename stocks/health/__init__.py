"""
Health checks. Each check answers ok / degraded / down with a message and its own timing,
runs under a timeout and never raises; ``registry`` decides which run where.
"""

from .base import DEGRADED, DOWN, OK, CheckResult, HealthCheck, overall_status
from .registry import CHECKS, run_checks

__all__ = [
    "CHECKS",
    "DEGRADED",
    "DOWN",
    "OK",
    "CheckResult",
    "HealthCheck",
    "overall_status",
    "run_checks",
]
