"""Recorded provider responses (tests/providers/recorded) and the Massive URLs they answer."""

from __future__ import annotations

import json
from pathlib import Path

RECORDED = Path(__file__).resolve().parents[1] / "providers" / "recorded"
BASE = "https://api.massive.com"
SNAPSHOT = BASE + "/v2/snapshot/locale/us/markets/stocks/tickers"
TICKERS = BASE + "/v3/reference/tickers"


def grouped(day: str) -> str:
    return f"{BASE}/v2/aggs/grouped/locale/us/market/stocks/{day}"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())
