"""
The HTTP layer: parse parameters, then answer from the versioned response cache
(``stocks.caching``) or call one selector and render.

Bodies are built from value rows (``stocks.screen.rows``, ``presenters``) and serialised
by orjson; DRF still routes, authenticates, handles errors and documents, but no
serializer or renderer runs per request on these endpoints. Parameters are parsed (and
rejected) before the cache is consulted: the key is made of the parsed, normalised values.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.views import APIView

from ..access.authentication import APIKeyAuthentication
from ..access.throttles import PlanThrottle, UsageThrottle, plan_of, search_units, usage
from ..caching import cached_response
from ..errors import TickerNotFound
from ..history import price_history
from ..history import window as history_window
from ..market_calendar import get_calendar, stale_threshold
from ..models import Stock
from ..screen import select
from ..screen.paging import parse_paging
from ..screen.params import ScreenQuery, parse_query_string, parse_screen
from ..tickers import TICKER_PATH_PATTERN, InvalidTicker, normalize_ticker
from . import parameters, presenters
from .catalog import build_catalog
from .rendering import dumps, list_link
from .responses import INVALID, NOT_FOUND, CatalogSerializer, responses
from .schema import EnvelopeSchema
from .serializers import (
    DetailSerializer,
    HistoryResponseSerializer,
    MoversResponseSerializer,
    RealtimeSerializer,
    SearchResponseSerializer,
    SectorsResponseSerializer,
    StockPageSerializer,
    UsageSerializer,
)


def canonical_ticker(ticker: str) -> str:
    """The canonical form of a ticker in a URL (any case, BRK-B or BRK.B), or a 404."""
    try:
        return normalize_ticker(ticker)
    except InvalidTicker:
        raise TickerNotFound(ticker) from None


def _stale_before():
    return stale_threshold(timezone.now())


class PublicEndpoint:
    """
    Open to anonymous callers and to API keys, read-only: no session is read, so no CSRF
    check, no ``Vary: Cookie`` splitting shared caches, and nothing per caller in a cached
    body. A key that is given must be valid (401 otherwise). Limited per key or client
    subnet by plan (``stocks.access.throttles``); the limit headers are the caller's own,
    added after the response cache (``RateLimitHeadersMiddleware``).
    """

    authentication_classes = (APIKeyAuthentication,)
    throttle_classes = (PlanThrottle,)


class StockViewSet(PublicEndpoint, viewsets.ViewSet):
    """List and screen stocks; detail, history, search, and the screen's field catalog."""

    lookup_field = "ticker"
    lookup_value_regex = TICKER_PATH_PATTERN
    schema = EnvelopeSchema()
    read_only_actions = ("screen",)  # a POST that reads: publishable keys may use it

    def throttle_cost(self, request, caller) -> int:
        """A search costs the plan's search_cost times its query's units; all else 1."""
        if self.action != "search" or caller.limits is None:
            return 1
        query = request.query_params.get("q", "")[: parameters.SEARCH_MAX_LENGTH]
        return caller.limits.search_cost * search_units(query.strip())

    @extend_schema(
        operation_id="stocks_list",
        parameters=parameters.screen_parameters(),
        responses=responses(StockPageSerializer, INVALID, NOT_FOUND),
    )
    def list(self, request):
        query, params = parse_query_string(get_bytes_from_wsgi(request.META, "QUERY_STRING", ""))
        return self._screen(request, params, request.path, query)

    @extend_schema(
        operation_id="stocks_screen",
        request=parameters.screen_body(),
        responses=responses(StockPageSerializer, INVALID, NOT_FOUND),
        description="The screen of GET /api/stocks/, its parameters in a JSON body: for a "
        "screen too long for a URL (hundreds of tickers). The answer and its links are "
        "the list's; to page, POST again with the link's page or cursor.",
    )
    @action(detail=False, methods=["post"], url_path="screen")
    def screen(self, request):
        list_path = reverse("api:stock-list").rstrip("/") + "/"
        return self._screen(request, parameters.body_params(request.data), list_path)

    def _screen(self, request, params, list_path: str, query: ScreenQuery | None = None):
        query = parse_screen(params) if query is None else query
        paging = parse_paging(params, query.ordering, plan_of(request))
        # Links are absolute: the body depends on the scheme and host it was asked for.
        base = request.build_absolute_uri(list_path)

        def render(version):
            result = select.run(query, paging, version=version, stale_before=_stale_before())
            body = {
                "count": result.count,
                "next": list_link(base, query, paging, result.next),
                "previous": list_link(base, query, paging, result.previous),
                "results": result.rows,
            }
            return dumps(body), {"X-Screen-Engine": result.engine}

        key = {**query.cache_params(), **paging.cache_params(), "base": base}
        return cached_response(
            request, namespace="stocks", endpoint="list", params=key, render=render
        )

    @extend_schema(responses=responses(DetailSerializer, NOT_FOUND))
    def retrieve(self, request, ticker: str):
        ticker = canonical_ticker(ticker)
        return cached_response(
            request,
            namespace="stocks",
            endpoint="detail",
            params={"ticker": ticker},
            render=lambda version: dumps(presenters.detail(ticker, _stale_before())),
        )

    @extend_schema(
        parameters=parameters.SEARCH.schema(),
        responses=responses(SearchResponseSerializer, INVALID),
    )
    @action(detail=False)
    def search(self, request):
        params = parameters.SEARCH.parse(request.query_params)

        def render(version):
            hits = presenters.search(params["q"], params["limit"], version, _stale_before())
            return dumps({"query": params["q"], "count": len(hits), "results": hits})

        return cached_response(
            request,
            namespace="search",
            endpoint="search",
            params=params,
            render=render,
        )

    @extend_schema(responses=responses(CatalogSerializer))
    @action(detail=False)
    def fields(self, request):
        return cached_response(
            request,
            namespace="stocks",
            endpoint="fields",
            params={},
            render=lambda version: dumps(build_catalog()),
        )

    @extend_schema(
        parameters=parameters.HISTORY.schema(),
        responses=responses(HistoryResponseSerializer, INVALID, NOT_FOUND),
    )
    @action(detail=True)
    def history(self, request, ticker: str):
        ticker = canonical_ticker(ticker)
        params = parameters.HISTORY.parse(request.query_params)
        start, end = history_window(
            period=params.get("period"),
            start=params.get("start"),
            end=params.get("end"),
            today=timezone.now().astimezone(get_calendar().tz).date(),
        )

        def render(version):
            stock_id = presenters.stock_id(ticker)
            interval = params["interval"]
            bars = price_history(stock_id=stock_id, interval=interval, start=start, end=end)
            return dumps(
                {
                    "ticker": ticker,
                    "interval": interval,
                    "period": params.get("period"),
                    "start": start,
                    "end": end,
                    "count": len(bars),
                    "bars": presenters.bars(bars),
                }
            )

        key = {**params, "ticker": ticker, "start": start, "end": end}
        return cached_response(
            request, namespace="history", endpoint="history", params=key, render=render
        )


class RealtimeQuoteView(PublicEndpoint, APIView):
    """The latest quote of one stock."""

    realtime = True  # the plan's per-second burst window applies too

    @extend_schema(responses=responses(RealtimeSerializer, NOT_FOUND))
    def get(self, request, ticker: str):
        ticker = canonical_ticker(ticker)

        def render(version):
            now = timezone.now()
            quote = presenters.realtime(ticker, stale_threshold(now), get_calendar().is_open(now))
            return dumps(quote)

        return cached_response(
            request,
            namespace="stocks",
            endpoint="realtime",
            params={"ticker": ticker},
            render=render,
            timeout=settings.RESPONSE_CACHE_REALTIME_TIMEOUT,
        )


class SectorSummaryView(PublicEndpoint, APIView):
    """Per sector: count, advancers, decliners, mean change %, market cap."""

    @extend_schema(responses=responses(SectorsResponseSerializer))
    def get(self, request):
        def render(version):
            rows = list(Stock.objects.sector_summary())
            return dumps({"count": len(rows), "results": rows})

        return cached_response(
            request, namespace="market", endpoint="sectors", params={}, render=render
        )


class MoversView(PublicEndpoint, APIView):
    """Top gainers, losers or most active stocks."""

    @extend_schema(
        parameters=parameters.MOVERS.schema(),
        responses=responses(MoversResponseSerializer, INVALID),
    )
    def get(self, request):
        params = parameters.MOVERS.parse(request.query_params)

        def render(version):
            movers = presenters.movers(params["kind"], params["limit"], _stale_before())
            return dumps({"kind": params["kind"], "count": len(movers), "results": movers})

        return cached_response(
            request, namespace="market", endpoint="movers", params=params, render=render
        )


class AccountUsageView(PublicEndpoint, APIView):
    """The caller's plan and, per window, its limit, use and reset. Costs no quota."""

    throttle_classes = (UsageThrottle,)

    @extend_schema(responses=responses(UsageSerializer))
    def get(self, request):
        response = HttpResponse(dumps(usage(request)), content_type="application/json")
        response["Cache-Control"] = "no-store"  # the caller's own numbers, now
        return response
