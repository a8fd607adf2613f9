"""Ticker symbols: one canonical form everywhere (upper case, share class after a dot)."""

from __future__ import annotations

import re

# BRK.B, BRK-B and BRK/B all name Berkshire's class B shares; we store BRK.B.
_CLASS_SEPARATORS = str.maketrans({"-": ".", "/": "."})
TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,15}\Z")
# What a client may write for one ticker, before normalisation (ASCII only: "ß".upper() is
# "SS"), and what a URL path segment may hold (no "/").
TICKER_INPUT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9.\-/]{0,15}"
TICKER_INPUT = re.compile(TICKER_INPUT_PATTERN)
TICKER_PATH_PATTERN = r"[A-Za-z0-9][A-Za-z0-9.\-]{0,15}"


class InvalidTicker(ValueError):
    """The text cannot be a ticker symbol."""


def normalize_ticker(raw: str) -> str:
    """Return the canonical ticker for ``raw`` or raise ``InvalidTicker``."""
    text = raw.strip()
    ticker = text.upper().translate(_CLASS_SEPARATORS)
    if not (text.isascii() and TICKER_RE.match(ticker)):
        raise InvalidTicker(f"{raw!r} is not a valid ticker symbol")
    return ticker
