"""Pure technical-indicator functions computed at ingest time.

Everything here is standard-library only (no Django, no ORM, no numpy) so the
functions can be unit tested in isolation and called from any ingest path.

Conventions shared by every function:

* Input sequences are ordered oldest -> newest.
* When there is not enough data the function returns ``None``; short input
  never raises.
* A non-positive ``period`` / ``window`` raises ``ValueError`` because that is
  a programming error, not a data problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "VOLATILITY_HIGH_THRESHOLD",
    "VOLATILITY_LOW_THRESHOLD",
    "average",
    "ema",
    "rsi",
    "sma",
    "trend",
    "volatility",
    "volatility_label",
    "week52_range",
]

# Annualised volatility (as a fraction) below this is labelled "low".
VOLATILITY_LOW_THRESHOLD = 0.20
# Annualised volatility (as a fraction) at or above this is labelled "high";
# values in [VOLATILITY_LOW_THRESHOLD, VOLATILITY_HIGH_THRESHOLD) are "medium".
VOLATILITY_HIGH_THRESHOLD = 0.40

TREND_BULLISH = "bullish"
TREND_BEARISH = "bearish"
TREND_NEUTRAL = "neutral"
UNKNOWN = "unknown"

VOLATILITY_LOW = "low"
VOLATILITY_MEDIUM = "medium"
VOLATILITY_HIGH = "high"


def _check_period(period: int, name: str = "period") -> None:
    """Raise ValueError unless ``period`` is a positive integer."""
    if period <= 0:
        raise ValueError(f"{name} must be a positive integer, got {period!r}")


def sma(values: Sequence[float], period: int) -> float | None:
    """Simple moving average of the last ``period`` values.

    Follows the StockCharts ChartSchool definition ("Moving Averages - Simple
    and Exponential"): the arithmetic mean of the most recent ``period``
    values. Returns ``None`` if fewer than ``period`` values are available.
    """
    _check_period(period)
    if len(values) < period:
        return None
    window = values[len(values) - period :]
    return math.fsum(window) / period


def average(values: Sequence[float], period: int) -> float | None:
    """Plain arithmetic mean of the last ``period`` values (e.g. 30-day volume).

    Semantically identical to :func:`sma` (StockCharts ChartSchool simple
    moving average); provided under a volume-friendly name. Returns ``None``
    if fewer than ``period`` values are available.
    """
    return sma(values, period)


def ema(values: Sequence[float], period: int) -> float | None:
    """Exponential moving average, returning the most recent value.

    Follows the StockCharts ChartSchool definition ("Moving Averages - Simple
    and Exponential"): multiplier ``alpha = 2 / (period + 1)``, seeded with
    the SMA of the first ``period`` values, then rolled forward with
    ``ema = (value - prev_ema) * alpha + prev_ema`` over the remaining
    values. Returns ``None`` if fewer than ``period`` values are available.
    """
    _check_period(period)
    if len(values) < period:
        return None
    alpha = 2.0 / (period + 1)
    current = math.fsum(values[:period]) / period
    for value in values[period:]:
        current = (value - current) * alpha + current
    return current


def rsi(closes: Sequence[float], period: int = 14) -> float | None:
    """Relative Strength Index using Wilder's smoothing.

    Follows J. Welles Wilder Jr., *New Concepts in Technical Trading Systems*
    (1978), as worked through in the StockCharts ChartSchool "Relative
    Strength Index (RSI)" article:

    * the first average gain / loss is the simple mean of the first
      ``period`` close-to-close changes;
    * subsequent averages use Wilder smoothing
      ``avg = (prev_avg * (period - 1) + current) / period``;
    * ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``.

    Needs at least ``period + 1`` closes, otherwise returns ``None``. If the
    average loss is zero the result is ``100.0`` (or ``50.0`` when the average
    gain is also zero, i.e. a flat series). The result lies in [0, 100].
    """
    _check_period(period)
    if len(closes) < period + 1:
        return None

    changes = [closes[i] - closes[i - 1] for i in range(1, len(closes))]
    gains = [max(change, 0.0) for change in changes]
    losses = [max(-change, 0.0) for change in changes]

    avg_gain = math.fsum(gains[:period]) / period
    avg_loss = math.fsum(losses[:period]) / period
    for gain, loss in zip(gains[period:], losses[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period

    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    relative_strength = avg_gain / avg_loss
    value = 100.0 - 100.0 / (1.0 + relative_strength)
    return min(100.0, max(0.0, value))


def volatility(
    closes: Sequence[float], window: int = 30, periods_per_year: int = 252
) -> float | None:
    """Annualised historical (close-to-close) volatility as a fraction.

    Follows the standard historical-volatility definition (Hull, *Options,
    Futures, and Other Derivatives*, "Estimating Volatility from Historical
    Data"; also StockCharts ChartSchool "Standard Deviation (Volatility)"):
    the sample standard deviation (``n - 1`` denominator) of the last
    ``window`` daily log returns ``ln(close_t / close_{t-1})``, multiplied by
    ``sqrt(periods_per_year)``. ``0.25`` means 25 %.

    Needs ``window + 1`` closes and ``window >= 2`` returns for a sample
    standard deviation; otherwise returns ``None``. Also returns ``None`` if
    any close used is ``<= 0`` (log return undefined).
    """
    _check_period(window, "window")
    _check_period(periods_per_year, "periods_per_year")
    if window < 2 or len(closes) < window + 1:
        return None
    recent = closes[len(closes) - (window + 1) :]
    if any(close <= 0 for close in recent):
        return None
    returns = [math.log(recent[i] / recent[i - 1]) for i in range(1, len(recent))]
    # The sample standard deviation in floats, two passes with exact sums: statistics.stdev
    # computes in exact fractions, the most of a whole-market indicator refresh for digits
    # that rounding the result to four places drops.
    mean = math.fsum(returns) / len(returns)
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance) * math.sqrt(periods_per_year)


def week52_range(
    highs: Sequence[float], lows: Sequence[float], window: int = 252
) -> tuple[float, float] | None:
    """52-week (``window``-bar) high / low range as ``(high, low)``.

    Follows the conventional 52-week high/low definition (e.g. Investopedia
    "52-Week High/Low"; 252 trading days per year): the maximum of the last
    ``window`` daily highs and the minimum of the last ``window`` daily lows.
    If fewer than ``window`` bars are available, whatever is present is
    used; returns ``None`` if either series is empty.
    """
    _check_period(window, "window")
    if not highs or not lows:
        return None
    recent_highs = highs[max(0, len(highs) - window) :]
    recent_lows = lows[max(0, len(lows) - window) :]
    return (max(recent_highs), min(recent_lows))


def trend(price: float | None, sma50: float | None, sma200: float | None) -> str:
    """Classify the price trend from moving-average alignment.

    Uses the classic moving-average alignment rule (StockCharts ChartSchool
    "Moving Averages - Simple and Exponential", trend identification):
    ``"bullish"`` if ``price > sma50 > sma200``, ``"bearish"`` if
    ``price < sma50 < sma200``, ``"neutral"`` otherwise, and ``"unknown"`` if
    any input is ``None``.
    """
    if price is None or sma50 is None or sma200 is None:
        return UNKNOWN
    if price > sma50 > sma200:
        return TREND_BULLISH
    if price < sma50 < sma200:
        return TREND_BEARISH
    return TREND_NEUTRAL


def volatility_label(vol: float | None) -> str:
    """Bucket an annualised volatility fraction into a label.

    Project convention (not a published standard): ``"low"`` below
    :data:`VOLATILITY_LOW_THRESHOLD`, ``"medium"`` from that up to (but not
    including) :data:`VOLATILITY_HIGH_THRESHOLD`, ``"high"`` at or above it,
    ``"unknown"`` for ``None``.
    """
    if vol is None:
        return UNKNOWN
    if vol < VOLATILITY_LOW_THRESHOLD:
        return VOLATILITY_LOW
    if vol < VOLATILITY_HIGH_THRESHOLD:
        return VOLATILITY_MEDIUM
    return VOLATILITY_HIGH
