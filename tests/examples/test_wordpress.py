"""
examples/wordpress, proven: the PHP client (php-cli) and the browser snippet (Node's
fetch, as a page of the member site would call) against a live server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ..support.live import BASE_DIR, live_app

EXAMPLES = BASE_DIR / "examples" / "wordpress"
SITE = "https://members.example.com"

SETUP = f"""
from decimal import Decimal
from django.contrib.auth import get_user_model
from stocks.access.models import Plan
from stocks.models import Stock
from stocks.services.api_keys import create_key
for ticker, name, cap, volume in [("AAPL", "Apple Inc.", 3_000, 50), ("MSFT", "Microsoft Corp.",
                                  2_900, 70), ("XOM", "Exxon Mobil", 500, 10)]:
    Stock.objects.create(ticker=ticker, name=name, price=Decimal("100"), market_cap=cap * 10**9,
                         volume=volume * 10**6, sector="Technology", exchange="NASDAQ")
get_user_model().objects.create_user("wordpress")
Plan.objects.filter(slug="basic").update(realtime_per_second=2)
print(create_key(username="wordpress", plan="basic", name="server").secret)
print(create_key(username="wordpress", plan="free", name="widget", publishable=True,
                 origins="{SITE}").secret)
"""


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{program} is required (CI installs it) but not installed")
        pytest.skip(f"{program} is not installed")
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with live_app(
        tmp_path_factory.mktemp("wordpress"), setup=SETUP, RATE_LIMITS_ENABLED="true"
    ) as running:
        server_key, browser_key = running.setup_output.strip().splitlines()[-2:]
        yield running, server_key, browser_key


def test_php_client__results_cache_and_error_messages(app):
    php = require("php")
    running, server_key, _ = app
    done = subprocess.run(
        [php, str(EXAMPLES / "demo.php")],
        env={**os.environ, "STOCKSCANNER_URL": running.url, "STOCKSCANNER_API_KEY": server_key,
             "STOCKSCANNER_QUERY": "microsoft", "STOCKSCANNER_TICKER": "AAPL"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + running.log()
    report = json.loads(done.stdout)
    assert report["tickers"] == ["AAPL", "MSFT", "XOM"] and report["count"] == 3
    assert report["second_call_cached"] is True
    assert report["search_first"] == "MSFT"
    assert report["unknown_ticker"]["status"] == 404
    assert report["unknown_ticker"]["code"] == "ticker_not_found"
    assert "NOPE123" in report["unknown_ticker"]["member_message"]
    assert report["bad_parameter"]["code"] == "invalid"
    assert report["bad_parameter"]["member_message"].startswith(
        "Please check the search: price_min"
    )
    assert report["bad_key"] == {
        "status": 401,
        "code": "invalid_api_key",
        "message": "Unknown API key.",
    }
    burst = report["burst"]
    assert burst["status"] == 429 and burst["code"] == "rate_limited"
    assert burst["retry_after"] >= 1
    assert burst["member_message"].startswith("Too many requests; try again in")


NODE_SCRIPT = """
import {{ stockScanner, StockScannerError }} from "{module}";
const realFetch = globalThis.fetch;
const results = {{}};
for (const origin of ["{site}", "https://elsewhere.example"]) {{
  // As a browser would: every request of a page carries the page's Origin.
  globalThis.fetch = (url, init) =>
    realFetch(url, {{ ...init, headers: {{ ...init.headers, Origin: origin }} }});
  const api = stockScanner("{url}", "{key}");
  try {{
    const movers = await api.get("/api/market/movers/", {{ kind: "active", limit: 2 }});
    results[origin] = {{ ok: movers.results.map((s) => s.ticker) }};
  }} catch (e) {{
    if (!(e instanceof StockScannerError)) throw e;
    results[origin] = {{ status: e.status, code: e.code }};
  }}
}}
console.log(JSON.stringify(results));
"""


def test_browser_snippet__publishable_key_bound_to_the_site(app):
    node = require("node")
    running, _, browser_key = app
    script = NODE_SCRIPT.format(
        module=(EXAMPLES / "stockscanner.js").as_uri(), site=SITE, url=running.url, key=browser_key
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr + running.log()
    results = json.loads(done.stdout)
    assert results[SITE] == {"ok": ["MSFT", "AAPL"]}
    assert results["https://elsewhere.example"] == {"status": 403, "code": "origin_not_allowed"}
