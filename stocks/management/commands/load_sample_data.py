"""Load the S&P 500 with a year of simulated daily bars (and synthetic stocks for benchmarks)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from stocks.models import Stock
from stocks.services.database_maintenance import refresh_statistics
from stocks.services.ingest import upsert_listings
from stocks.services.sample_data import load_sample_data, load_synthetic, read_listings

MAX_SYNTHETIC = 1_000_000


class Command(BaseCommand):
    help = (
        "Load the S&P 500 company list with a year of simulated, deterministic daily bars "
        "and the latest close as a quote. Running it again the same day changes nothing. "
        "With another MARKET_DATA_PROVIDER it never writes prices: it loads the company list "
        "into an empty table, and otherwise does nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--synthetic",
            type=int,
            default=0,
            metavar="N",
            help="Also add N generated stocks (quote and indicators, no bars) for benchmarks.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Rewrite the sample even if it is up to date."
        )

    def handle(self, *args, synthetic: int, force: bool, **options):
        if not 0 <= synthetic <= MAX_SYNTHETIC:
            raise CommandError(f"--synthetic must be between 0 and {MAX_SYNTHETIC}.")
        if settings.MARKET_DATA_PROVIDER != "simulated":
            # Simulated bars and quotes would overwrite a real provider's (compose runs this
            # on every start). An empty table gets the company list only, so a provider
            # without a listing (csv, yahoo) has tickers to fetch.
            provider = settings.MARKET_DATA_PROVIDER
            if Stock.objects.exists():
                self.stdout.write(
                    f"Sample data skipped: MARKET_DATA_PROVIDER is {provider!r} and stocks are "
                    "loaded (simulated prices would overwrite its data)."
                )
                return
            listed = upsert_listings(listings=read_listings()).stocks
            self.stdout.write(
                f"Loaded the {listed} companies of the sample, without prices: "
                f"MARKET_DATA_PROVIDER is {provider!r}."
            )
            return
        started = time.perf_counter()
        result = load_sample_data(force=force)
        if result.up_to_date:
            self.stdout.write(f"Sample data up to date: {result.stocks} stocks.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Loaded {result.stocks} stocks and {result.bars} daily bars.")
            )
        if synthetic:
            count = load_synthetic(count=synthetic)
            self.stdout.write(self.style.SUCCESS(f"Loaded {count} synthetic stocks."))
        if synthetic or not result.up_to_date:
            refresh_statistics()  # the planner must know the new row counts
        self.stdout.write(f"Done in {time.perf_counter() - started:.1f}s.")
