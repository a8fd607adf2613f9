"""Unit tests for stocks.indicators (pure functions; no Django, no database)."""

from __future__ import annotations

import math

import pytest

from stocks.indicators import (
    VOLATILITY_HIGH_THRESHOLD,
    VOLATILITY_LOW_THRESHOLD,
    average,
    ema,
    rsi,
    sma,
    trend,
    volatility,
    volatility_label,
    week52_range,
)

# StockCharts ChartSchool RSI worked example (QQQQ closes, cs-rsi.xls).
# The article's table shows closes rounded to 2 decimals, but the published RSI
# column was computed in the spreadsheet from 4-decimal closes. Only the 4-decimal
# closes reproduce the published 70.53 / 66.32 / 66.55 / 69.41 / 66.36. The
# 2-decimal closes give 70.46 for the first RSI, see
# test_rsi__stockcharts_two_decimal_table_closes.
STOCKCHARTS_RSI_CLOSES = [
    44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245,
    45.8433, 46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820,
]  # fmt: skip
STOCKCHARTS_RSI_NEXT = [
    (46.0028, 66.32),
    (46.0328, 66.55),
    (46.4116, 69.41),
    (46.2222, 66.36),
]
STOCKCHARTS_RSI_TABLE_CLOSES = [
    44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42,
    45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28,
]  # fmt: skip


# --------------------------------------------------------------------------- sma


def test_sma__last_period_values():
    """SMA averages only the most recent `period` values."""
    # last 3 of [1, 2, 3, 4, 5, 6] -> (4 + 5 + 6) / 3 = 5.0
    assert sma([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3) == pytest.approx(5.0)


def test_sma__exactly_period_values():
    """SMA with exactly `period` values is the mean of all of them."""
    # (2 + 4 + 9) / 3 = 15 / 3 = 5.0
    assert sma([2.0, 4.0, 9.0], 3) == pytest.approx(5.0)


def test_sma__accepts_tuple():
    """SMA works on any sequence, not only lists."""
    # (10 + 20) / 2 = 15.0
    assert sma((5.0, 10.0, 20.0), 2) == pytest.approx(15.0)


def test_sma__too_short_returns_none():
    """SMA returns None when fewer than `period` values are available."""
    assert sma([1.0, 2.0], 3) is None
    assert sma([], 1) is None


@pytest.mark.parametrize("period", [0, -1])
def test_sma__non_positive_period_raises(period):
    """SMA raises ValueError for a non-positive period."""
    with pytest.raises(ValueError):
        sma([1.0, 2.0, 3.0], period)


# ----------------------------------------------------------------------- average


def test_average__matches_sma():
    """average() is the plain mean of the last `period` values, like sma()."""
    volumes = [1000.0, 2000.0, 3000.0, 6000.0]
    # last 3 -> (2000 + 3000 + 6000) / 3 = 11000 / 3 = 3666.67
    assert average(volumes, 3) == pytest.approx(11000.0 / 3)
    assert average(volumes, 3) == sma(volumes, 3)


def test_average__too_short_returns_none():
    """average() returns None when fewer than `period` values are available."""
    assert average([1000.0] * 29, 30) is None


@pytest.mark.parametrize("period", [0, -5])
def test_average__non_positive_period_raises(period):
    """average() raises ValueError for a non-positive period."""
    with pytest.raises(ValueError):
        average([1.0], period)


# --------------------------------------------------------------------------- ema


def test_ema__seeded_with_sma_then_rolled_forward():
    """EMA seeds with the SMA of the first `period` values, then applies alpha."""
    # period 3 -> alpha = 2 / (3 + 1) = 0.5
    # seed = (2 + 4 + 6) / 3 = 4.0
    # 8  -> 4.0 + 0.5 * (8 - 4.0)  = 6.0
    # 12 -> 6.0 + 0.5 * (12 - 6.0) = 9.0
    # (the SMA of the last 3 would be (6 + 8 + 12) / 3 = 8.67, so this checks seeding)
    assert ema([2.0, 4.0, 6.0, 8.0, 12.0], 3) == pytest.approx(9.0)


def test_ema__alpha_two_over_period_plus_one():
    """EMA uses alpha = 2 / (period + 1)."""
    # period 4 -> alpha = 2 / 5 = 0.4
    # seed = (1 + 2 + 3 + 4) / 4 = 2.5
    # 10 -> 2.5 + 0.4 * (10 - 2.5) = 2.5 + 3.0 = 5.5
    assert ema([1.0, 2.0, 3.0, 4.0, 10.0], 4) == pytest.approx(5.5)


def test_ema__exactly_period_values_is_sma():
    """EMA with exactly `period` values equals the seed SMA."""
    # (3 + 5 + 10) / 3 = 6.0
    assert ema([3.0, 5.0, 10.0], 3) == pytest.approx(6.0)


def test_ema__too_short_returns_none():
    """EMA returns None when fewer than `period` values are available."""
    assert ema([1.0, 2.0], 3) is None
    assert ema([], 1) is None


@pytest.mark.parametrize("period", [0, -1])
def test_ema__non_positive_period_raises(period):
    """EMA raises ValueError for a non-positive period."""
    with pytest.raises(ValueError):
        ema([1.0, 2.0, 3.0], period)


# --------------------------------------------------------------------------- rsi


def test_rsi__stockcharts_first_value():
    """The first 14-period RSI matches the StockCharts ChartSchool example (70.53)."""
    # gains sum = 3.3374, losses sum = 1.3943 (4-dp closes)
    # RS = (3.3374 / 14) / (1.3943 / 14) = 2.3936 -> 100 - 100 / 3.3936 = 70.53
    assert rsi(STOCKCHARTS_RSI_CLOSES, 14) == pytest.approx(70.53, abs=0.01)


def test_rsi__stockcharts_wilder_smoothed_values():
    """Later RSI values match the StockCharts example (66.32, 66.55, 69.41, 66.36)."""
    closes = list(STOCKCHARTS_RSI_CLOSES)
    for close, expected in STOCKCHARTS_RSI_NEXT:
        closes.append(close)
        assert rsi(closes, 14) == pytest.approx(expected, abs=0.01)


def test_rsi__stockcharts_two_decimal_table_closes():
    """The article's 2-decimal closes give RSI 70.46 (not the published 70.53)."""
    # changes: -0.25 +0.06 -0.54 +0.72 +0.50 +0.27 +0.32 +0.42 +0.24 -0.19
    #          +0.14 -0.42 +0.67 0.00
    # gains = 0.06+0.72+0.50+0.27+0.32+0.42+0.24+0.14+0.67 = 3.34
    # losses = 0.25+0.54+0.19+0.42 = 1.40
    # RS = (3.34 / 14) / (1.40 / 14) = 2.385714 -> 100 - 100 / 3.385714 = 70.464
    assert rsi(STOCKCHARTS_RSI_TABLE_CLOSES, 14) == pytest.approx(70.464, abs=0.001)
    # Within 0.1 of the published 70.53, but outside a 0.05 tolerance.
    assert rsi(STOCKCHARTS_RSI_TABLE_CLOSES, 14) == pytest.approx(70.53, abs=0.1)


def test_rsi__hand_computed_wilder_smoothing():
    """A small period-2 example checks the SMA seed and the Wilder smoothing step."""
    # closes 1, 2, 1.5, 2.5 -> changes +1, -0.5, +1
    # seed (first 2 changes): avg_gain = (1 + 0) / 2 = 0.5
    #                          avg_loss = (0 + 0.5) / 2 = 0.25
    # smooth with +1:          avg_gain = (0.5 * 1 + 1) / 2 = 0.75
    #                          avg_loss = (0.25 * 1 + 0) / 2 = 0.125
    # RS = 0.75 / 0.125 = 6 -> RSI = 100 - 100 / 7 = 85.714
    assert rsi([1.0, 2.0, 1.5, 2.5], 2) == pytest.approx(100.0 - 100.0 / 7.0)


def test_rsi__constant_series_is_fifty():
    """A flat series (no gains, no losses) gives RSI 50.0."""
    assert rsi([10.0] * 20, 14) == 50.0


def test_rsi__all_up_series_is_hundred():
    """A strictly rising series (average loss 0) gives RSI 100.0."""
    assert rsi([float(i) for i in range(1, 31)], 14) == 100.0


def test_rsi__all_down_series_is_zero():
    """A strictly falling series (average gain 0) gives RSI 0.0."""
    assert rsi([float(i) for i in range(30, 0, -1)], 14) == pytest.approx(0.0)


def test_rsi__needs_period_plus_one_closes():
    """RSI returns None with only `period` closes and a value with period + 1."""
    assert rsi(STOCKCHARTS_RSI_CLOSES[:14], 14) is None
    assert rsi(STOCKCHARTS_RSI_CLOSES[:15], 14) is not None
    assert rsi([], 14) is None


def test_rsi__result_within_bounds():
    """RSI stays within [0, 100] on a mixed series."""
    closes = STOCKCHARTS_RSI_CLOSES + [close for close, _ in STOCKCHARTS_RSI_NEXT]
    for end in range(15, len(closes) + 1):
        value = rsi(closes[:end], 14)
        assert value is not None
        assert 0.0 <= value <= 100.0


@pytest.mark.parametrize("period", [0, -14])
def test_rsi__non_positive_period_raises(period):
    """RSI raises ValueError for a non-positive period."""
    with pytest.raises(ValueError):
        rsi([1.0, 2.0, 3.0], period)


# -------------------------------------------------------------------- volatility


def test_volatility__hand_computed_two_returns():
    """Annualised volatility of two log returns matches the hand computation."""
    # closes 100, 110, 99 -> r1 = ln(1.1) = 0.0953102, r2 = ln(0.9) = -0.1053605
    # with two values the sample stdev is |r1 - r2| / sqrt(2)
    #   = ln(11 / 9) / sqrt(2) = 0.2006707 / 1.4142136 = 0.1418971
    # annualised: 0.1418971 * sqrt(252) = 0.1418971 * 15.8745079 = 2.2525
    expected = math.log(11.0 / 9.0) / math.sqrt(2.0) * math.sqrt(252.0)
    assert expected == pytest.approx(2.2525, abs=1e-4)
    assert volatility([100.0, 110.0, 99.0], window=2) == pytest.approx(expected)


def test_volatility__hand_computed_three_returns():
    """Sample (n - 1) standard deviation of three log returns, annualised."""
    # closes 100, 110, 121, 110 -> returns a, a, -a with a = ln(1.1) = 0.0953102
    # mean = a / 3; deviations 2a/3, 2a/3, -4a/3
    # sample variance = (4a^2/9 + 4a^2/9 + 16a^2/9) / (3 - 1)
    #                 = (24a^2 / 9) / 2 = 4a^2 / 3
    # stdev = 2a / sqrt(3) = 0.1100548; with periods_per_year = 1 this is the result
    a = math.log(1.1)
    expected = 2.0 * a / math.sqrt(3.0)
    assert expected == pytest.approx(0.1100548, abs=1e-7)
    result = volatility([100.0, 110.0, 121.0, 110.0], window=3, periods_per_year=1)
    assert result == pytest.approx(expected)


def test_volatility__uses_only_last_window_returns():
    """Only the last `window` returns (window + 1 closes) are used."""
    # the leading 1.0 -> 50.0 jump is outside the window and must be ignored
    assert volatility([1.0, 50.0, 100.0, 110.0, 99.0], window=2) == pytest.approx(
        volatility([100.0, 110.0, 99.0], window=2)
    )


def test_volatility__agrees_with_the_exact_sample_deviation():
    """
    The float computation matches statistics.stdev's exact one: to 1e-12 relative, or 1e-15
    absolute for a deviation near zero (stored: 4 places).
    """
    import itertools
    import random
    import statistics

    rng = random.Random(20261207)
    for _ in range(500):
        closes = [rng.uniform(0.01, 5000.0)]
        for _ in range(rng.randint(3, 60)):
            closes.append(max(0.0001, closes[-1] * rng.uniform(0.5, 1.6)))
        window = rng.randint(2, len(closes) - 1)
        recent = closes[-(window + 1) :]
        returns = [math.log(b / a) for a, b in itertools.pairwise(recent)]
        assert volatility(closes, window=window) == pytest.approx(
            statistics.stdev(returns) * math.sqrt(252), rel=1e-12, abs=1e-15
        )


def test_volatility__constant_series_is_zero():
    """A flat series has zero volatility."""
    assert volatility([50.0] * 31, window=30) == pytest.approx(0.0)


def test_volatility__needs_window_plus_one_closes():
    """Volatility returns None with only `window` closes and a value with window + 1."""
    closes = [100.0 + (i % 3) for i in range(31)]
    assert volatility(closes[:30], window=30) is None
    assert volatility(closes, window=30) is not None
    assert volatility([], window=30) is None


def test_volatility__window_of_one_returns_none():
    """A single return has no sample standard deviation, so the result is None."""
    assert volatility([100.0, 101.0], window=1) is None


def test_volatility__non_positive_close_in_window_returns_none():
    """A close <= 0 inside the window makes log returns undefined -> None."""
    assert volatility([100.0, 0.0, 99.0], window=2) is None
    assert volatility([100.0, -5.0, 99.0], window=2) is None


def test_volatility__non_positive_close_outside_window_is_ignored():
    """A bad close before the window does not affect the result."""
    assert volatility([0.0, 100.0, 110.0, 99.0], window=2) == pytest.approx(
        volatility([100.0, 110.0, 99.0], window=2)
    )


@pytest.mark.parametrize("window", [0, -30])
def test_volatility__non_positive_window_raises(window):
    """Volatility raises ValueError for a non-positive window."""
    with pytest.raises(ValueError):
        volatility([100.0, 101.0, 102.0], window=window)


# ------------------------------------------------------------------ week52_range


def test_week52_range__fewer_bars_than_window():
    """With fewer bars than the window, all available bars are used."""
    # max(10, 12, 11) = 12, min(9, 8, 10) = 8
    assert week52_range([10.0, 12.0, 11.0], [9.0, 8.0, 10.0]) == (12.0, 8.0)


def test_week52_range__only_last_window_bars():
    """Only the last `window` highs and lows are considered."""
    # last 2 highs: max(12, 11) = 12 (the older 15 is dropped)
    # last 2 lows:  min(8, 10) = 8 (the older 5 is dropped)
    assert week52_range([15.0, 12.0, 11.0], [5.0, 8.0, 10.0], window=2) == (12.0, 8.0)


def test_week52_range__single_bar():
    """A single bar gives that bar's high and low."""
    assert week52_range([10.5], [9.5]) == (10.5, 9.5)


def test_week52_range__empty_returns_none():
    """Empty input returns None."""
    assert week52_range([], []) is None
    assert week52_range([1.0], []) is None
    assert week52_range([], [1.0]) is None


@pytest.mark.parametrize("window", [0, -1])
def test_week52_range__non_positive_window_raises(window):
    """week52_range raises ValueError for a non-positive window."""
    with pytest.raises(ValueError):
        week52_range([1.0], [1.0], window=window)


# ------------------------------------------------------------------------- trend


def test_trend__bullish():
    """Price > sma50 > sma200 is bullish."""
    assert trend(110.0, 105.0, 100.0) == "bullish"


def test_trend__bearish():
    """Price < sma50 < sma200 is bearish."""
    assert trend(90.0, 95.0, 100.0) == "bearish"


@pytest.mark.parametrize(
    ("price", "sma50", "sma200"),
    [
        (105.0, 105.0, 100.0),  # price == sma50: not strictly bullish
        (110.0, 100.0, 100.0),  # sma50 == sma200: not strictly bullish
        (95.0, 95.0, 100.0),  # price == sma50: not strictly bearish
        (90.0, 100.0, 100.0),  # sma50 == sma200: not strictly bearish
        (100.0, 100.0, 100.0),  # all equal
        (110.0, 95.0, 100.0),  # price above, but sma50 below sma200
        (90.0, 105.0, 100.0),  # price below, but sma50 above sma200
    ],
)
def test_trend__neutral_boundaries(price, sma50, sma200):
    """Ties and mixed orderings are neutral."""
    assert trend(price, sma50, sma200) == "neutral"


@pytest.mark.parametrize(
    ("price", "sma50", "sma200"),
    [(None, 1.0, 1.0), (1.0, None, 1.0), (1.0, 1.0, None), (None, None, None)],
)
def test_trend__unknown_when_any_none(price, sma50, sma200):
    """Any missing input gives "unknown"."""
    assert trend(price, sma50, sma200) == "unknown"


# -------------------------------------------------------------- volatility_label


def test_volatility_label__threshold_constants():
    """The thresholds are 20% and 40%."""
    assert VOLATILITY_LOW_THRESHOLD == 0.20
    assert VOLATILITY_HIGH_THRESHOLD == 0.40


@pytest.mark.parametrize(
    ("vol", "label"),
    [
        (0.0, "low"),
        (0.1999, "low"),
        (0.20, "medium"),  # lower boundary is inclusive for medium
        (0.3999, "medium"),
        (0.40, "high"),  # upper boundary is inclusive for high
        (1.5, "high"),
    ],
)
def test_volatility_label__boundaries(vol, label):
    """Labels switch at exactly 0.20 (medium) and 0.40 (high)."""
    assert volatility_label(vol) == label


def test_volatility_label__unknown_for_none():
    """None gives "unknown"."""
    assert volatility_label(None) == "unknown"
