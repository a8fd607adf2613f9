"""
Market data from a folder an operator (or a feed) drops CSV files into:
``MARKET_DATA_CSV_DIR/quotes/*.csv`` and ``MARKET_DATA_CSV_DIR/bars/*.csv``, in the formats
of ``import_market_data`` (``csv_file``). Each refresh reads every file there: the ingest is
idempotent (an older quote never replaces a newer one, a bar is upserted), so a file read
twice changes nothing, and files are replaced or removed by whoever writes them. A bad
line is logged with its file and line and left out; the rest is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from django.conf import settings

from .base import Bar, ProviderUnavailable, Quote
from .csv_file import Parsed, parse_bars, parse_quotes

logger = logging.getLogger("stocks.providers")

T = TypeVar("T")
MAX_REPORTED = 20


class CsvFolderProvider:
    name = "csv"
    # Asked per chunk of tickers like any chunked provider: no rate to spare, so a folder
    # with a year of history is read in one run (each read takes what the chunk needs).
    market_wide = False

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.MARKET_DATA_CSV_DIR)

    def _read(self, kind: str, parse: Callable[..., Parsed[T]]) -> list[T]:
        folder = self.directory / kind
        if not folder.is_dir():
            raise ProviderUnavailable(f"csv: {folder} is not a directory")
        rows: list[T] = []
        for path in sorted(folder.glob("*.csv")):
            try:
                with path.open(newline="", encoding="utf-8-sig") as handle:
                    parsed = parse(handle)
            except (OSError, UnicodeDecodeError) as exc:
                logger.warning("csv: cannot read %s: %s", path, exc)
                continue
            for error in parsed.errors[:MAX_REPORTED]:
                logger.warning("csv: %s %s", path.name, error)
            if len(parsed.errors) > MAX_REPORTED:
                logger.warning(
                    "csv: %s: %d more bad lines", path.name, len(parsed.errors) - MAX_REPORTED
                )
            rows.extend(parsed.rows)
        return rows

    def get_quotes(self, tickers: Sequence[str] = ()) -> list[Quote]:
        return self._read("quotes", parse_quotes)

    def get_daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[Bar]:
        return [bar for bar in self._read("bars", parse_bars) if start <= bar.date <= end]

    def get_listings(self) -> None:
        return None  # stocks are managed by hand (load_sample_data, the admin)
