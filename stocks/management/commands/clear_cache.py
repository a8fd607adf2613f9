"""Delete cached entries by namespace, or all of them, with counts."""

from __future__ import annotations

from stocks.cache_namespaces import NAMESPACES, UnknownNamespace
from stocks.management.base import OperatorCommand, OperatorFailed
from stocks.services.cache_maintenance import CacheUnavailable, ClearResult, clear_cache


class Command(OperatorCommand):
    help = (
        "Delete cache entries: those of one or more namespaces "
        f"({', '.join(NAMESPACES)}), or with --all every key of this app's cache "
        "(never the rest of the Redis database). The data version is always kept."
    )
    exit_codes = (
        "0 done, 1 done but only in this process (the local-memory cache), 2 failed (no --all "
        "or --namespace, unknown namespace, cache unreachable)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="Delete every key of the cache."
        )
        parser.add_argument(
            "--namespace",
            action="append",
            default=[],
            metavar="NAME",
            help=f"Delete this namespace's keys; repeatable. One of: {', '.join(NAMESPACES)}.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def perform(self, *, everything, namespace, dry_run, **options) -> ClearResult:
        if everything == bool(namespace):
            raise OperatorFailed("Give either --all or at least one --namespace NAME.")
        try:
            return clear_cache(namespaces=None if everything else namespace, dry_run=dry_run)
        except (UnknownNamespace, CacheUnavailable) as exc:
            raise OperatorFailed(str(exc)) from exc

    def render(self, result: ClearResult) -> None:
        verb = "Would delete" if result.dry_run else "Deleted"
        self.stdout.write(f"Cache backend: {result.backend}")
        for name, count in result.removed.items():
            self.stdout.write(f"  {name:<10} {count:>8}")
        if result.kept:
            self.stdout.write(f"Kept: {', '.join(result.kept)} (never deleted)")
        self.stdout.write(self.style.SUCCESS(f"{verb} {result.total} key(s)."))
        if result.warning:
            self.stdout.write(self.style.WARNING(f"Note: {result.warning}."))
