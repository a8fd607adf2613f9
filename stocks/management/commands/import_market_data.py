"""Import quotes or daily bars from a CSV file through the ingest service."""

from __future__ import annotations

import io
import sys
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError

from stocks.providers.csv_file import LineError, parse_bars, parse_quotes
from stocks.services.ingest import (
    IngestRejected,
    ingest_bars,
    ingest_quotes,
    validate_bars,
    validate_quotes,
)

MAX_REPORTED_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import market data from CSV. Bars: ticker,date,open,high,low,close,volume. "
        "Quotes: ticker,price,quote_time[,previous_close,open,day_high,day_low,volume,"
        "market_cap,pe_ratio,eps,dividend_yield,beta]. The file is checked whole first: "
        "any bad row is reported with its line number and nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file to import ('-' for standard input)")
        parser.add_argument("--kind", choices=("bars", "quotes"), default="bars")

    def handle(self, *args, path: str, kind: str, **options):
        parse, validate, ingest = (
            (parse_bars, validate_bars, ingest_bars)
            if kind == "bars"
            else (parse_quotes, validate_quotes, ingest_quotes)
        )
        try:
            if path == "-":
                parsed = parse(_stdin())
            else:
                with open(path, newline="", encoding="utf-8-sig") as handle:
                    parsed = parse(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc}") from exc

        def at_lines(row_errors) -> list[LineError]:
            return [LineError(parsed.lines[e.index], e.message) for e in row_errors]

        errors = parsed.errors
        if errors:
            # Also check the rows that did parse, so one run reports every bad line.
            errors = sorted([*errors, *at_lines(validate(**{kind: parsed.rows}))], key=_line)
        else:
            try:
                result = ingest(**{kind: parsed.rows})
            except IngestRejected as exc:
                errors = at_lines(exc.errors)
        if errors:
            for error in errors[:MAX_REPORTED_ERRORS]:
                self.stderr.write(str(error))
            if len(errors) > MAX_REPORTED_ERRORS:
                self.stderr.write(f"... and {len(errors) - MAX_REPORTED_ERRORS} more")
            raise CommandError(f"{len(errors)} bad row(s) in {path}; nothing was imported.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.rows} {kind} row(s) for {result.stocks} stock(s) from {path}."
            )
        )


def _line(error: LineError) -> int:
    return error.line


def _stdin() -> TextIO:
    """Standard input as UTF-8 text, a byte-order mark dropped as it is for files."""
    if hasattr(sys.stdin, "buffer"):
        return io.StringIO(sys.stdin.buffer.read().decode("utf-8-sig"), newline="")
    return sys.stdin  # already text (a test's StringIO)
