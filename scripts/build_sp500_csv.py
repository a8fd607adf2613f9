"""Build the bundled S&P 500 company list (``stocks/data/sp500.csv``).

This is a maintainer tool, not part of the application. Regenerate the file
from the repository root with::

    pip install pytickersymbols && python scripts/build_sp500_csv.py

The application only reads the generated CSV; it never imports
``pytickersymbols``.

Columns written: ``ticker,name,exchange,sector,industry,country,currency``.

* ticker   -- US listing symbol, upper case, share classes separated by a dot
              (``BRK.B``). Rows are de-duplicated and sorted by ticker.
* exchange -- prefix of the USD Google code (``NYSE:XOM`` -> ``NYSE``);
              when the package has no prefix, the Wikipedia "traded as" text;
              ``NYSE`` as a last resort.
* sector   -- one of the 11 GICS sectors. pytickersymbols mixes sector and
              industry labels from several taxonomies in ``industries``; the
              tables below say which GICS sector each label belongs to.
* industry -- the most specific label of that list that is not a sector name;
              the sector itself when there is none.
* country  -- ``United States`` unless the headquarters field names another
              country.

The output is deterministic: the same package data gives a byte-identical file.
"""

import csv
import re
from collections import Counter
from pathlib import Path

from pytickersymbols import PyTickerSymbols

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "stocks" / "data" / "sp500.csv"
HEADER = ["ticker", "name", "exchange", "sector", "industry", "country", "currency"]

GICS_SECTORS = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)

# When a company carries several GICS sector names, the first one in this list
# wins. The data tags REITs "Financials" (their pre-2016 GICS sector), many
# utilities "Energy", and data/ratings firms "Industrials".
SECTOR_PRECEDENCE = (
    "Real Estate",
    "Health Care",
    "Utilities",
    "Financials",
    "Communication Services",
    "Information Technology",
    "Consumer Discretionary",
    "Consumer Staples",
    "Materials",
    "Industrials",
    "Energy",
)

# Labels found in pytickersymbols' ``industries`` lists, by GICS sector and by
# how specific they are:
#   "industry" -- a real industry; preferred for the industry column,
#   "broad"    -- a business sector / industry group; used only if nothing finer,
#   "sector"   -- a synonym of the sector itself; never used as the industry.
# Labels not listed here (free text copied from Wikipedia, e.g. "Water
# technology") are used as the industry only when no listed label is present,
# and only if they are short: longer ones are several industries run together
# ("Cloud computing Enterprise software Consulting").
MAX_FREE_TEXT = 40
SECTOR_LABELS = {
    "Communication Services": {
        "industry": [
            "Broadcasting",
            "Consumer Publishing",
            "Integrated Telecommunications Services",
            "Internet Services",
            "Video games",
            "Wireless Telecommunications Services",
        ],
        "broad": [
            "Entertainment",
            "Media",
            "Media & Publishing",
            "Telecommunications",
            "Telecommunications Services",
        ],
    },
    "Consumer Discretionary": {
        "industry": [
            "Apparel & Accessories",
            "Auto & Truck Manufacturers",
            "Auto, Truck & Motorcycle Parts",
            "Department Stores",
            "Home Improvement Products & Services Retailers",
            "Home construction",
            "Hotels, Motels & Cruise Lines",
            "Leisure & Recreation",
            "Restaurant",
            "Restaurants",
            "Restaurants & Bars",
            "Specialty Retailers",
        ],
        "broad": [
            "Automobiles & Auto Parts",
            "Automotive",
            "Cyclical Consumer Products",
            "Cyclical Consumer Services",
            "Diversified Retail",
            "E-commerce",
            "Hospitality",
            "Hotels & Entertainment Services",
            "Retail",
            "Retailers",
            "Textiles & Apparel",
        ],
        "sector": ["Consumer Cyclicals"],
    },
    "Consumer Staples": {
        "industry": [
            "Brewers",
            "Discount Stores",
            "Drug Retailers",
            "Food Processing",
            "Food Retail & Distribution",
            "Non-Alcoholic Beverages",
            "Personal Products",
            "Tobacco",
        ],
        "broad": [
            "Beverage",
            "Beverages",
            "Drink industry",
            "Food & Beverages",
            "Food & Drug Retailing",
            "Food & Tobacco",
            "Food processing",
            "Personal & Household Products & Services",
        ],
        "sector": ["Consumer Non-Cyclicals"],
    },
    "Energy": {
        "industry": [
            "Oil & Gas Exploration and Production",
            "Oil Related Services and Equipment",
        ],
        "broad": [
            "Fossil Fuels",
            "Oil & Gas",
            "Oil & Gas Related Equipment and Services",
            "Oil and gas",
            "Petroleum",
            "Petroleum industry",
        ],
    },
    "Financials": {
        "industry": [
            "Asset Management",
            "Asset management",
            "Banks",
            "Consumer Lending",
            "Financial & Commodity Market Operators",
            "Investment Banking & Brokerage Services",
            "Investment Management",
            "Investment Management & Fund Operators",
            "Investment management",
            "Life insurance",
            "Multiline Insurance & Brokers",
            "Property & Casualty Insurance",
            "Property & casualty insurance",
            "Reinsurance",
            "Security & commodity exchanges",
        ],
        "broad": [
            "Banking",
            "Banking & Investment Services",
            "Banking Services",
            "Financial Services",
            "Financial services",
            "Financial technology",
            "Insurance",
            "Investment Banking & Investment Services",
        ],
    },
    "Health Care": {
        "industry": [
            "Advanced Medical Equipment & Technology",
            "Biopharmaceutical",
            "Biotechnology",
            "Managed Health care",
            "Medical Devices",
            "Medical Equipment, Supplies & Distribution",
            "Medical Technology",
            "Medical devices",
            "Medical equipment",
            "Medical technology",
            "Pharmaceutical",
            "Pharmaceuticals",
        ],
        "broad": [
            "Healthcare Equipment & Supplies",
            "Healthcare Providers & Services",
            "Healthcare Services",
            "Pharmaceuticals & Medical Research",
        ],
        "sector": ["Health care", "Healthcare", "Healthcare industry"],
    },
    "Industrials": {
        "industry": [
            "Aerospace & Defense",
            "Air Freight & Courier Services",
            "Airlines",
            "Diversified Machinery",
            "Electrical Components & Equipment",
            "Ground Freight & Logistics",
            "HVAC",
            "Heavy Machinery & Vehicles",
            "Industrial Conglomerates",
            "Industrial Machinery & Equipment",
            "Passenger Transportation Services",
            "Professional Information Services",
            "Waste management",
        ],
        "broad": [
            "Aerospace",
            "Conglomerate",
            "Freight & Logistics Services",
            "Industrial & Commercial Services",
            "Industrial Goods",
            "Machinery, Equipment & Components",
            "Manufacturing",
            "Professional & Commercial Services",
            "Transportation",
        ],
    },
    "Information Technology": {
        "industry": [
            "Communications & Networking",
            "Computer Hardware",
            "Computer data storage",
            "Electronic Equipments & Parts",
            "Enterprise software",
            "IT Services & Consulting",
            "Phones & Handheld Devices",
            "Semiconductors",
            "Software",
        ],
        "broad": [
            "Computers, Phones & Household Electronics",
            "Software & IT Services",
            "Technology Equipment",
        ],
        "sector": ["Information technology", "Technology"],
    },
    "Materials": {
        "industry": [
            "Commodity Chemicals",
            "Construction Materials",
            "Construction materials",
            "Non-Paper Containers & Packaging",
            "Paper Packaging",
            "Steel",
        ],
        "broad": [
            "Applied Resources",
            "Chemical industry",
            "Chemicals",
            "Containers & Packaging",
            "Metals & Mining",
            "Metals and Mining",
            "Mineral Resources",
            "Packaging",
        ],
        "sector": ["Basic Materials"],
    },
    "Real Estate": {
        "industry": [
            "Commercial REITs",
            "Residential REITs",
            "Specialized REITs",
        ],
        "broad": [
            "Real Estate Investment Trust",
            "Real estate investment trust",
            "Residential & Commercial RETIs",
        ],
        "sector": ["Real estate"],
    },
    "Utilities": {
        "industry": [
            "Electric & Gas Utilities",
            "Electric Utilities",
            "Electric Utility",
            "Electric utilities",
            "Electric utility",
            "Multiline Utilities",
        ],
        "broad": ["Electric Utilities & IPPs"],
        "sector": ["Public Utility", "Public utility", "Utility"],
    },
}

LEVEL_RANK = {"industry": 0, "broad": 1, "free text": 2}

# label -> (GICS sector, level)
LABELS = {sector: (sector, "sector") for sector in GICS_SECTORS}
for _sector, _levels in SECTOR_LABELS.items():
    for _level, _labels in _levels.items():
        for _label in _labels:
            LABELS[_label] = (_sector, _level)

# Google/Wikipedia exchange names -> the exchange codes the app uses.
EXCHANGES = {
    "NYSE": "NYSE",
    "NASDAQ": "NASDAQ",
    "AMEX": "AMEX",
    "NYSEAMERICAN": "AMEX",
    "NYSEAMEX": "AMEX",
    "NYSEMKT": "AMEX",
    "BATS": "BATS",
    "CBOE": "BATS",  # Cboe BZX, formerly BATS
    "CBOEBZX": "BATS",
}
OTC_PREFIXES = {"OTC", "OTCMKTS", "OTCQX", "OTCQB", "PINK"}
DEFAULT_EXCHANGE = "NYSE"
# Companies the package gives no exchange for at all, checked by hand.
EXCHANGE_OVERRIDES = {"PODD": "NASDAQ", "UAL": "NASDAQ"}
TRADED_AS = re.compile(
    r"(NYSE American|NYSE|Nasdaq|NASDAQ|Cboe BZX|CBOE|BATS)\s*:\s*([A-Z][A-Z.\-/]*)"
)

US_STATES = {
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado",
    "Connecticut", "Delaware", "D.C.", "Florida", "Georgia", "Hawaii", "Idaho",
    "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
    "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey",
    "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina",
    "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia",
    "Washington", "West Virginia", "Wisconsin", "Wyoming",
}  # fmt: skip
US = "United States"
NON_US_COUNTRIES = {
    "Bermuda", "Canada", "Ireland", "Netherlands", "Switzerland",
    "United Kingdom",
}  # fmt: skip


def canonical_ticker(symbol):
    """``brk-b`` / ``BRK/B`` / ``BRK.B`` -> ``BRK.B``."""
    return re.sub(r"[-/]", ".", symbol.strip().upper())


def usd_listings(stock):
    """(exchange prefix, canonical ticker) for every USD Google code."""
    listings = []
    for entry in stock.get("symbols") or []:
        code = (entry.get("google") or "").strip().upper()
        if entry.get("currency") != "USD" or not code:
            continue
        prefix, _, ticker = code.rpartition(":")
        listings.append((prefix, canonical_ticker(ticker)))
    return listings


def exchange_for(stock, ticker):
    """Exchange of ``ticker``, normalised to NYSE/NASDAQ/AMEX/BATS."""
    if ticker in EXCHANGE_OVERRIDES:
        return EXCHANGE_OVERRIDES[ticker]
    listings = [(p, t) for p, t in usd_listings(stock) if p and p not in OTC_PREFIXES]
    # Prefer the Wikipedia "traded as" text (the most current: it has BKR, DPZ, KMB, LIN
    # and WMT on NASDAQ), then the Google code of this very ticker, then any other US
    # listing of the company (often a former ticker).
    traded_as = (stock.get("metadata") or {}).get("traded_as") or ""
    candidates = [
        name for name, symbol in TRADED_AS.findall(traded_as) if canonical_ticker(symbol) == ticker
    ]
    candidates += [p for p, t in listings if t == ticker] + [p for p, _ in listings]
    if not candidates:
        return DEFAULT_EXCHANGE
    raw = re.sub(r"\s+", "", candidates[0].upper())
    return EXCHANGES.get(raw, raw)


def sector_for(labels):
    """GICS sector of a company, and whether it had to be guessed."""
    named = {label for label in labels if label in GICS_SECTORS}
    if named:
        return min(named, key=SECTOR_PRECEDENCE.index), False
    # No GICS name: vote with the other labels we know, ties by precedence.
    votes = Counter(LABELS[label][0] for label in labels if label in LABELS)
    if votes:
        return min(votes, key=lambda s: (-votes[s], SECTOR_PRECEDENCE.index(s))), True
    return "Industrials", True


def industry_for(labels, sector):
    """Most specific label that is not a sector name; else the sector."""

    def rank(indexed):
        index, label = indexed
        label_sector, level = LABELS.get(label, (sector, "free text"))
        return (label_sector != sector, LEVEL_RANK[level], index)

    def usable(label):
        if label in LABELS:
            return LABELS[label][1] != "sector"
        return 0 < len(label) <= MAX_FREE_TEXT

    candidates = [(i, label) for i, label in enumerate(labels) if usable(label)]
    if not candidates:
        return sector
    label = min(candidates, key=rank)[1]
    label = re.sub(r"\(\s+", "(", re.sub(r"\s+([,)])", r"\1", label))
    return label[0].upper() + label[1:]


def country_for(headquarters):
    """Country from a "City, State" / "City, Country" headquarters string."""
    first = (headquarters or "").split(";")[0]
    region = first.rsplit(",", 1)[-1].strip()
    if region in NON_US_COUNTRIES:
        return region
    if region not in US_STATES and region.lower() not in ("", "none"):
        print(f"  note: unrecognised headquarters {headquarters!r}, assuming {US}")
    return US


def build_rows(stocks):
    rows = {}
    for stock in stocks:
        ticker = canonical_ticker(stock.get("symbol") or "")
        if not ticker or ticker in rows:
            continue
        if ticker not in {t for _, t in usd_listings(stock)}:
            print(f"  note: {ticker} has no USD Google code with that ticker")
        labels = [label.strip() for label in stock.get("industries") or []]
        sector, guessed = sector_for(labels)
        if guessed:
            print(f"  fallback sector: {ticker} -> {sector} from {labels}")
        rows[ticker] = {
            "ticker": ticker,
            "name": (stock.get("name") or "").strip(),
            "exchange": exchange_for(stock, ticker),
            "sector": sector,
            "industry": industry_for(labels, sector),
            "country": country_for(stock.get("country")),
            "currency": "USD",
        }
    return [rows[ticker] for ticker in sorted(rows)]


def write_csv(rows, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def print_summary(rows, path):
    print(f"Wrote {len(rows)} rows to {path.relative_to(REPO_ROOT)}")
    for column in ("sector", "exchange"):
        print(f"Per {column}:")
        for value, count in sorted(Counter(r[column] for r in rows).items()):
            print(f"  {value:<24} {count:>4}")


def main():
    stocks = PyTickerSymbols().get_stocks_by_index("S&P 500")
    rows = build_rows(stocks)
    write_csv(rows, OUTPUT)
    print_summary(rows, OUTPUT)


if __name__ == "__main__":
    main()
