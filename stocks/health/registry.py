"""Which checks exist, and running a selection of them."""

from __future__ import annotations

from collections.abc import Iterable

from .base import DOWN, CheckResult, HealthCheck
from .checks import (
    BrokerCheck,
    CacheCheck,
    DatabaseCheck,
    DiskCheck,
    FreshnessCheck,
    LoadCheck,
    MemoryCheck,
    MigrationsCheck,
    ProviderCheck,
    WorkersCheck,
)

CHECKS: dict[str, HealthCheck] = {
    check.name: check
    for check in (
        DatabaseCheck(),
        MigrationsCheck(),
        CacheCheck(),
        BrokerCheck(),
        WorkersCheck(),
        DiskCheck(),
        MemoryCheck(),
        LoadCheck(),
        FreshnessCheck(),
        ProviderCheck(),
    )
}
LIVENESS: tuple[str, ...] = ()
LOAD_BALANCER = ("database",)
READINESS = ("database", "cache", "migrations")


def run_checks(names: Iterable[str] | None = None) -> list[CheckResult]:
    """
    Run the named checks (all by default) in order. Once the database check is down, the
    other database checks are reported down without running (each would only wait for
    the same connect timeout again).
    """
    selected = list(CHECKS) if names is None else list(names)
    results: list[CheckResult] = []
    database_down = False
    for name in selected:
        check = CHECKS[name]
        if database_down and check.uses_database:
            results.append(CheckResult(name, check.category, DOWN, "skipped: database down", 0.0))
            continue
        result = check.run()
        database_down = database_down or (name == "database" and result.status == DOWN)
        results.append(result)
    return results
