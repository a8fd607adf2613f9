"""Refresh quotes and/or daily bars from the configured provider, now, in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from stocks.tasks import refresh_daily_bars, refresh_quotes


class Command(BaseCommand):
    help = (
        "Fetch the latest quotes (while the market is open; the closing quotes once it has "
        "closed) and each stock's daily bars since its newest stored one from "
        "MARKET_DATA_PROVIDER, as Celery beat does on schedule. "
        "Useful with the embedded default, which has no beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quotes", action="store_true", help="Only refresh quotes.")
        parser.add_argument("--bars", action="store_true", help="Only refresh daily bars.")

    def handle(self, *args, quotes: bool, bars: bool, **options):
        both = not quotes and not bars
        if bars or both:
            stored = refresh_daily_bars.apply().get()
            self.stdout.write(f"Daily bars stored: {stored}.")
        if quotes or both:
            stored = refresh_quotes.apply().get()
            note = "" if stored else " (the market is closed and every closing quote is stored)"
            self.stdout.write(f"Quotes refreshed: {stored}{note}.")
