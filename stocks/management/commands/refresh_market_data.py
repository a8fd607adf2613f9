"""Refresh market data from the configured provider: inline by default, or enqueued."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stocks import tasks

# Option -> (task, what its number counts).
KINDS = {
    "listings": (tasks.refresh_listings, "Listings"),
    "bars": (tasks.refresh_daily_bars, "Daily bars stored"),
    "quotes": (tasks.refresh_quotes, "Quotes refreshed"),
}


class Command(BaseCommand):
    help = (
        "Fetch from MARKET_DATA_PROVIDER, as Celery beat does on schedule: the listing "
        "(with --listings), each stock's daily bars since its newest stored one, and the "
        "latest quotes (the closing quotes once the market has closed). Runs here and now "
        "by default (useful with the embedded default, which has no beat); with --async the "
        "refreshes are sent to the Celery workers and their task ids printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quotes", action="store_true", help="Only refresh quotes.")
        parser.add_argument("--bars", action="store_true", help="Only refresh daily bars.")
        parser.add_argument(
            "--listings",
            action="store_true",
            help="Refresh the listing (new and vanished tickers).",
        )
        parser.add_argument(
            "--async",
            action="store_true",
            dest="enqueue",
            help="Enqueue for the Celery workers instead of running here; print the task ids.",
        )

    def handle(self, *args, quotes: bool, bars: bool, listings: bool, enqueue: bool, **options):
        chosen = [k for k, on in (("listings", listings), ("bars", bars), ("quotes", quotes)) if on]
        chosen = chosen or ["bars", "quotes"]
        for kind in chosen:
            task, label = KINDS[kind]
            if enqueue:
                try:
                    result = task.delay()
                except Exception as exc:  # the broker cannot be reached
                    raise CommandError(f"Cannot enqueue {task.name}: {exc}") from exc
                self.stdout.write(f"{task.name} enqueued: {result.id}")
                continue
            outcome = task.apply()
            value = outcome.get()
            if value is tasks.SKIPPED:
                self.stdout.write(f"{label}: skipped (see the log).")
            elif kind == "quotes" and not value:
                self.stdout.write(
                    f"{label}: 0 (the market is closed and every closing quote is stored)."
                )
            else:
                self.stdout.write(f"{label}: {value}.")
