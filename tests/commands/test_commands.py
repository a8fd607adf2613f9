"""Management commands: import_market_data and load_sample_data."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from stocks import indicators
from stocks.market_calendar import get_calendar
from stocks.models import PriceBar, SearchTerm, Stock
from stocks.services.ingest import quantize
from stocks.services.sample_data import HISTORY_DAYS, read_listings

from ..support.commands import output

pytestmark = pytest.mark.django_db

GICS_SECTORS = {
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy",
    "Financials", "Health Care", "Industrials", "Information Technology", "Materials",
    "Real Estate", "Utilities",
}  # fmt: skip
INDICATORS = (
    "avg_volume_30d", "week52_high", "week52_low", "sma_20", "sma_50", "sma_200",
    "rsi_14", "volatility_30d",
)  # fmt: skip
QUOTE = (
    "price", "previous_close", "change", "change_percent", "volume", "quote_time", "market_cap",
)  # fmt: skip


def stock_rows() -> list[dict]:
    return list(Stock.objects.order_by("ticker").values())


def bar_summary() -> dict:
    """Count and checksums of every stored bar."""
    return PriceBar.objects.aggregate(
        count=Count("id"),
        max_id=Max("id"),
        first=Min("date"),
        last=Max("date"),
        opens=Sum("open"),
        highs=Sum("high"),
        lows=Sum("low"),
        closes=Sum("close"),
        volume=Sum("volume"),
        stocks=Count("stock", distinct=True),
    )


def term_summary() -> tuple:
    return (SearchTerm.objects.count(), SearchTerm.objects.aggregate(Max("id"))["id__max"])


# --- import_market_data -------------------------------------------------------------------

BARS_HEADER = "ticker,date,open,high,low,close,volume\n"
# Dates long before the sample data, so these tests are independent of it.
FIRST_DAY = date(2020, 3, 2)


def bar_lines(ticker="ACME", count=25) -> list[str]:
    """``count`` valid CSV rows of weekday bars, closes 50, 51, ..."""
    days = [FIRST_DAY + timedelta(days=n) for n in range(count * 2)]
    days = [day for day in days if day.weekday() < 5][:count]
    return [
        f"{ticker},{day.isoformat()},{50 + n - 0.5},{50 + n + 1},{50 + n - 1},{50 + n},{1000 + n}\n"
        for n, day in enumerate(days)
    ]


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def acme(stock_factory):
    return stock_factory(ticker="ACME", name="Acme Corp", new_listing=True)


def test_import_market_data__bars_import_and_recompute_indicators(tmp_path, acme):
    """A good bars file is stored and the stock's indicators are recomputed."""
    path = write(tmp_path, "bars.csv", BARS_HEADER + "".join(bar_lines()))

    result = output("import_market_data", path)

    assert "Imported 25 bars row(s) for 1 stock(s)" in result.out
    assert result.err == ""
    bars = PriceBar.objects.filter(stock=acme).order_by("date")
    assert bars.count() == 25
    assert bars.first().close == Decimal("50.0000")
    assert bars.last().volume == 1024
    acme.refresh_from_db()
    closes = [50.0 + n for n in range(25)]
    assert acme.sma_20 == quantize(indicators.sma(closes, 20)) == Decimal("64.5000")
    assert acme.rsi_14 == 100.0
    assert acme.week52_high == Decimal("75.0000")
    assert acme.week52_low == Decimal("49.0000")


def test_import_market_data__twice_changes_nothing(tmp_path, acme):
    """Importing the same bars file again leaves the same rows."""
    path = write(tmp_path, "bars.csv", BARS_HEADER + "".join(bar_lines()))
    output("import_market_data", path)
    bars, stocks = list(PriceBar.objects.filter(stock=acme).values()), stock_rows()

    output("import_market_data", path)

    assert list(PriceBar.objects.filter(stock=acme).values()) == bars
    assert stock_rows() == stocks


def test_import_market_data__byte_order_mark_and_spaces(tmp_path, acme):
    """A UTF-8 BOM (as Excel writes) and spaces around values are accepted."""
    text = "\ufeff" + BARS_HEADER + " acme , 2020-03-02 , 10 , 11 , 9 , 10.5 , 100 \n"
    path = write(tmp_path, "bom.csv", text)
    output("import_market_data", path)
    assert PriceBar.objects.get(stock=acme).close == Decimal("10.5000")


def test_import_market_data__quotes(tmp_path, acme):
    """A quotes file updates the latest quote; change is derived from the previous close."""
    text = (
        "ticker,price,quote_time,previous_close,volume,market_cap\n"
        "ACME,52.5,2025-06-02T20:00:00Z,50,123456,7000000000\n"
    )
    path = write(tmp_path, "quotes.csv", text)

    result = output("import_market_data", path, "--kind", "quotes")

    assert "Imported 1 quotes row(s) for 1 stock(s)" in result.out
    acme.refresh_from_db()
    assert acme.price == Decimal("52.5000")
    assert acme.change == Decimal("2.5000")
    assert acme.change_percent == 5.0
    assert acme.volume == 123456
    assert acme.market_cap == 7_000_000_000
    assert acme.quote_time.isoformat() == "2025-06-02T20:00:00+00:00"


def test_import_market_data__share_class_spelling(tmp_path, stock_factory):
    """BRK-B in the file lands on the stored BRK.B."""
    stock = stock_factory(ticker="BRK.B", name="Berkshire Hathaway")
    path = write(tmp_path, "bars.csv", BARS_HEADER + "".join(bar_lines("BRK-B", count=3)))

    output("import_market_data", path)

    dates = PriceBar.objects.filter(stock=stock, date__lt=date(2021, 1, 1)).values_list(
        "date", flat=True
    )
    assert len(dates) == 3
    assert not Stock.objects.filter(ticker="BRK-B").exists()


def _assert_nothing_written(acme):
    assert not PriceBar.objects.filter(stock=acme).exists()
    acme.refresh_from_db()
    assert acme.sma_20 is None


def test_import_market_data__unparseable_rows_reported_by_line(tmp_path, acme):
    """Rows that do not parse are listed with their file line (header = 1); nothing is written."""
    good = bar_lines(count=6)
    lines = [
        good[0],  # line 2
        "ACME,2020-03-03,abc,11,9,10,100\n",  # line 3
        good[2],  # line 4
        "ACME,2020-02-30,10,11,9,10,100\n",  # line 5
        "ACME,2020-03-06,10,11,9,10,1.5\n",  # line 6
        "ACME,2020-03-09,10,11,9,10,\n",  # line 7
        "ACME,2020-03-10,10,11,9,10,100,extra\n",  # line 8
        good[5],  # line 9, the last row is good
    ]
    path = write(tmp_path, "bad.csv", BARS_HEADER + "".join(lines))

    with pytest.raises(CommandError, match=r"5 bad row\(s\) in .*nothing was imported") as caught:
        call_command(
            "import_market_data", path, stdout=io.StringIO(), stderr=(err := io.StringIO())
        )

    assert err.getvalue().splitlines() == [
        "line 3: open 'abc' is not a number",
        "line 5: date '2020-02-30' is not a YYYY-MM-DD date",
        "line 6: volume '1.5' is not a whole number",
        "line 7: volume is empty",
        "line 8: more fields than columns",
    ]
    assert path in str(caught.value)
    _assert_nothing_written(acme)


def test_import_market_data__invalid_bars_reported_by_line(tmp_path, acme):
    """Rows that parse but fail ingest checks are reported by line too; nothing is written."""
    good = bar_lines(count=5)
    lines = [
        good[0],  # line 2
        good[1],  # line 3
        "ACME,2020-04-01,10,9,11,10,100\n",  # line 4: high below low
        good[3],  # line 5
        "NOPE,2020-04-02,10,11,9,10,100\n",  # line 6: nobody lists NOPE
        "ACME,2020-04-03,10,11,9,10,-5\n",  # line 7: negative volume, the last row
    ]
    path = write(tmp_path, "bad.csv", BARS_HEADER + "".join(lines))
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"3 bad row\(s\)"):
        call_command("import_market_data", path, stdout=io.StringIO(), stderr=err)

    reported = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in reported] == ["line 4", "line 6", "line 7"]
    assert "high/low" in reported[0]
    assert "NOPE: unknown ticker" in reported[1]
    assert "volume" in reported[2]
    _assert_nothing_written(acme)


def test_import_market_data__parse_and_ingest_errors_reported_together(tmp_path, acme):
    """One run lists the rows that do not parse and the rows that parse but are invalid."""
    good = bar_lines(count=4)
    lines = [
        good[0],  # line 2
        "ACME,2020-03-03,abc,11,9,10,100\n",  # line 3: does not parse
        "ACME,2020-03-04,10,11,9,10,-5\n",  # line 4: parses, negative volume
        "NOPE,2020-03-05,10,11,9,10,100\n",  # line 5: unknown ticker
        "NOPE,2020-03-06,10,11,9,10,100\n",  # line 6: unknown ticker again
        "ACME,2020-03-07,10,11,9,10,100\n",  # line 7: a Saturday
    ]
    path = write(tmp_path, "bad.csv", BARS_HEADER + "".join(lines))
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"5 bad row\(s\)"):
        call_command("import_market_data", path, stdout=io.StringIO(), stderr=err)

    reported = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in reported] == [f"line {n}" for n in (3, 4, 5, 6, 7)]
    assert "not a trading day" in reported[4]
    _assert_nothing_written(acme)


def test_import_market_data__standard_input_with_byte_order_mark(monkeypatch, acme):
    """'-' reads standard input as UTF-8, a byte-order mark dropped as for files."""
    data = ("\ufeff" + BARS_HEADER + "".join(bar_lines(count=3))).encode("utf-8")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="latin-1"))

    result = output("import_market_data", "-")

    assert "Imported 3 bars row(s) for 1 stock(s) from -." in result.out
    assert PriceBar.objects.filter(stock=acme).count() == 3


def test_import_market_data__standard_input_not_utf8(monkeypatch, acme):
    """Latin-1 bytes on standard input are refused like a Latin-1 file."""
    data = (BARS_HEADER + "ACME,2020-03-02,1,2,1,2,3 # Nestlé\n").encode("latin-1")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="latin-1"))
    with pytest.raises(CommandError, match="- is not UTF-8 text"):
        output("import_market_data", "-")
    _assert_nothing_written(acme)


def test_import_market_data__bad_quote_reported_by_line(tmp_path, acme):
    """A quote without a UTC offset is refused with its line."""
    text = (
        "ticker,price,quote_time\nACME,52.5,2025-06-02T20:00:00Z\nACME,53.0,2025-06-02 20:05:00\n"
    )
    path = write(tmp_path, "quotes.csv", text)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_market_data", path, "--kind", "quotes", stdout=io.StringIO(), stderr=err
        )
    assert err.getvalue().startswith("line 3: quote_time '2025-06-02 20:05:00' needs a UTC offset")
    acme.refresh_from_db()
    assert acme.quote_time is None


def test_import_market_data__missing_columns(tmp_path, acme):
    """A file without a required column is refused, naming the column."""
    path = write(tmp_path, "bars.csv", "ticker,date,open,high,low,close\nACME,2020-03-02,1,2,1,2\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_market_data", path, stdout=io.StringIO(), stderr=err)
    assert err.getvalue().strip() == "line 1: missing column(s): volume"
    _assert_nothing_written(acme)


def test_import_market_data__empty_file(tmp_path, acme):
    """An empty file has no header: every column is missing."""
    path = write(tmp_path, "empty.csv", "")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_market_data", path, stdout=io.StringIO(), stderr=err)
    assert "missing column(s): ticker, date" in err.getvalue()


def test_import_market_data__not_utf8(tmp_path, acme):
    """A Latin-1 file is refused with a clear message, not a traceback."""
    path = tmp_path / "latin1.csv"
    path.write_bytes((BARS_HEADER + "ACME,2020-03-02,1,2,1,2,3 # Nestlé\n").encode("latin-1"))
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_market_data", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    _assert_nothing_written(acme)


def test_import_market_data__missing_file(tmp_path):
    """A path that does not exist is a CommandError naming the path and the reason."""
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: No such file or directory"):
        call_command("import_market_data", missing, stdout=io.StringIO(), stderr=io.StringIO())


def test_import_market_data__unknown_kind(tmp_path):
    """Only bars and quotes can be imported."""
    path = write(tmp_path, "bars.csv", BARS_HEADER)
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_market_data", path, "--kind", "dividends")


# --- load_sample_data ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(django_db_setup, django_db_blocker):
    """
    The S&P 500 sample, loaded once for the module inside a transaction that is rolled
    back at the end (each test runs in a savepoint within it). The clock is pinned so a
    session cannot close between the load and a test.
    """
    now = timezone.now()
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: now)
        outer = transaction.atomic()
        outer.__enter__()
        try:
            result = output("load_sample_data")
            yield SimpleNamespace(
                out=result.out,
                now=now,
                last_session=get_calendar().last_completed_session(now),
                stocks=stock_rows(),
                bars=bar_summary(),
                terms=term_summary(),
            )
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_load_sample_data__loads_the_sp500(sample):
    """About 500 real companies, every GICS sector, AAPL and BRK.B among them."""
    count = Stock.objects.count()
    assert count == len(read_listings()) >= 490
    assert f"Loaded {count} stocks and {sample.bars['count']} daily bars." in sample.out
    assert set(Stock.objects.values_list("sector", flat=True)) == GICS_SECTORS
    assert Stock.objects.get(ticker="AAPL").name.startswith("Apple")
    assert Stock.objects.get(ticker="BRK.B").name.startswith("Berkshire")
    assert not Stock.objects.filter(ticker__contains="-").exists()
    assert SearchTerm.objects.filter(stock__ticker="AAPL", term="apple").exists()


def test_load_sample_data__about_a_year_of_bars_per_stock(sample):
    """Every stock has ~250 trading days of bars, ending at the last completed session."""
    first_allowed = sample.last_session - timedelta(days=HISTORY_DAYS - 1)
    per_stock = PriceBar.objects.values("stock").annotate(
        n=Count("id"), first=Min("date"), last=Max("date")
    )
    assert len(per_stock) == Stock.objects.count()
    for row in per_stock:
        assert 245 <= row["n"] <= 256
        assert row["first"] >= first_allowed
        assert row["last"] == sample.last_session
    assert sample.bars["count"] == sum(row["n"] for row in per_stock)


def test_load_sample_data__bars_are_trading_days_only(sample):
    """No bar falls on a weekend or a market holiday."""
    calendar = get_calendar()
    dates = PriceBar.objects.filter(stock__ticker="AAPL").values_list("date", flat=True)
    assert all(calendar.is_trading_day(day) for day in dates)


def test_load_sample_data__quote_and_indicators(sample):
    """A sample stock has its closing quote and every indicator."""
    apple = Stock.objects.get(ticker="AAPL")
    for name in (*QUOTE, *INDICATORS):
        assert getattr(apple, name) is not None, name
    last, previous = PriceBar.objects.filter(stock=apple).order_by("-date")[:2]
    assert apple.price == last.close
    assert apple.previous_close == previous.close
    assert apple.quote_time == get_calendar().session(sample.last_session)[1]
    closes = [
        float(c)
        for c in PriceBar.objects.filter(stock=apple)
        .order_by("date")
        .values_list("close", flat=True)
    ]
    assert apple.sma_50 == quantize(indicators.sma(closes, 50))
    assert apple.week52_low <= apple.price <= apple.week52_high


def test_load_sample_data__every_stock_has_indicators(sample):
    """No stock is left without its quote or indicators."""
    for name in ("price", "quote_time", "sma_200", "rsi_14", "week52_high"):
        assert not Stock.objects.filter(**{f"{name}__isnull": True}).exists(), name


def test_load_sample_data__second_run_is_up_to_date(sample):
    """Loading again the same day says so and changes nothing."""
    result = output("load_sample_data")

    assert f"Sample data up to date: {len(sample.stocks)} stocks." in result.out
    assert stock_rows() == sample.stocks
    assert bar_summary() == sample.bars
    assert term_summary() == sample.terms


def test_load_sample_data__forced_reload_changes_nothing(sample):
    """--force rewrites the sample through ingest; the data comes out identical."""
    result = output("load_sample_data", "--force")

    assert "Loaded" in result.out
    assert stock_rows() == sample.stocks
    assert bar_summary() == sample.bars
    assert term_summary()[0] == sample.terms[0]


def test_load_sample_data__synthetic_stocks(sample):
    """--synthetic N adds N generated stocks with a quote and indicators; twice is idempotent."""
    result = output("load_sample_data", "--synthetic", "300")

    assert "Loaded 300 synthetic stocks." in result.out
    sample_tickers = {row["ticker"] for row in sample.stocks}
    synthetic = Stock.objects.exclude(ticker__in=sample_tickers)
    assert synthetic.count() == 300
    for name in (*QUOTE, *INDICATORS):
        assert not synthetic.filter(**{f"{name}__isnull": True}).exists(), name
    assert not PriceBar.objects.filter(stock__in=synthetic).exists()
    assert SearchTerm.objects.filter(stock__in=synthetic).values("stock").distinct().count() == 300
    after_first = stock_rows()

    output("load_sample_data", "--synthetic", "300")

    assert stock_rows() == after_first
    assert bar_summary() == sample.bars


@pytest.mark.parametrize("count", ["-1", "1000001"])
def test_load_sample_data__synthetic_out_of_range(count):
    """A negative or huge --synthetic is refused before anything is loaded."""
    before = Stock.objects.count()
    with pytest.raises(CommandError, match="--synthetic must be between 0 and 1000000"):
        call_command("load_sample_data", "--synthetic", count, stdout=io.StringIO())
    assert Stock.objects.count() == before


def test_load_sample_data__refreshes_planner_statistics(monkeypatch):
    """After a load the planner's statistics are refreshed; an up-to-date run leaves them."""
    from stocks.management.commands import load_sample_data as command
    from stocks.services.sample_data import SampleLoad

    refreshed = []
    monkeypatch.setattr(command, "refresh_statistics", lambda: refreshed.append(True))
    for up_to_date, expected in ((False, [True]), (True, [True])):
        monkeypatch.setattr(
            command,
            "load_sample_data",
            lambda force, done=up_to_date: SampleLoad(stocks=3, bars=0, up_to_date=done),
        )
        output("load_sample_data")
        assert refreshed == expected
