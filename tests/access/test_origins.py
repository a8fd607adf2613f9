"""Origins are compared in one normal form (stocks.access.origins)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from stocks.access.origins import InvalidOrigin, normalize_origin, parse_origins, request_origin


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://example.com", "https://example.com"),
        ("HTTPS://Example.COM/", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("  https://shop.example.com  ", "https://shop.example.com"),
    ],
)
def test_normalize_origin(given, normal):
    assert normalize_origin(given) == normal


@pytest.mark.parametrize(
    "given",
    [
        "example.com",
        "ftp://example.com",
        "https://",
        "https://example.com/path",
        "https://example.com/?q=1",
        "https://user@example.com",
        "https://example.com:99999",
        "javascript:alert(1)",
    ],
)
def test_normalize_origin__refuses_what_is_not_an_origin(given):
    with pytest.raises(InvalidOrigin):
        normalize_origin(given)


def test_parse_origins__commas_newlines_and_duplicates():
    text = "https://a.example, https://b.example\nHTTPS://A.example:443\n\n"
    assert parse_origins(text) == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("header", "origin"),
    [
        (None, None),
        ("null", "null"),  # never equal to a normal origin: a bound key refuses it
        ("https://Example.com", "https://example.com"),
        ("not an origin", "not an origin"),  # never equal to a normal origin
    ],
)
def test_request_origin(header, origin):
    extra = {} if header is None else {"HTTP_ORIGIN": header}
    assert request_origin(RequestFactory().get("/", **extra)) == origin
