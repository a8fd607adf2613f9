"""The HTTP layer: read parameters, call one QuerySet method or service, render."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import InvalidParameter, TickerNotFound
from ..history import period_start, price_history
from ..market_calendar import get_calendar
from ..models import Stock
from ..tickers import TICKER_PATH_PATTERN, InvalidTicker, normalize_ticker
from .catalog import build_catalog
from .filters import StockFilterSet
from .responses import (
    INVALID,
    NOT_FOUND,
    CatalogSerializer,
    HistoryResponseSerializer,
    MoversResponseSerializer,
    SearchResponseSerializer,
    SectorsResponseSerializer,
    responses,
)
from .serializers import (
    LIST_FIELDS,
    BarSerializer,
    HistoryParams,
    MoversParams,
    RealtimeQuoteSerializer,
    SearchHitSerializer,
    SearchParams,
    SectorSummarySerializer,
    StockDetailSerializer,
    StockRowSerializer,
    columns_for,
    freshness_context,
)

FIELDS_PARAM = OpenApiParameter(
    "fields",
    OpenApiTypes.STR,
    description=f"Comma-separated sparse field set, from: {', '.join(LIST_FIELDS)}",
)


def _params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _sparse_fields(request) -> tuple[str, ...] | None:
    raw = request.query_params.get("fields")
    if raw is None or not raw.strip():
        return None
    fields = tuple(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    unknown = [f for f in fields if f not in LIST_FIELDS]
    if unknown:
        raise InvalidParameter(
            "fields",
            f"Unknown field(s): {', '.join(unknown[:10])}. Allowed: {', '.join(LIST_FIELDS)}.",
        )
    return fields


def get_stock(ticker: str, queryset=None) -> Stock:
    """The active stock with this ticker (any case, BRK-B or BRK.B), or a 404."""
    try:
        canonical = normalize_ticker(ticker)
    except InvalidTicker:
        raise TickerNotFound(ticker) from None
    try:
        return (queryset if queryset is not None else Stock.objects.active()).get(ticker=canonical)
    except Stock.DoesNotExist:
        raise TickerNotFound(canonical) from None


class StockViewSet(viewsets.ReadOnlyModelViewSet):
    """List and screen stocks; detail, history, search, and the screen's field catalog."""

    queryset = Stock.objects.active()
    serializer_class = StockRowSerializer
    filterset_class = StockFilterSet
    lookup_field = "ticker"
    lookup_value_regex = TICKER_PATH_PATTERN

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **freshness_context()}

    @extend_schema(
        parameters=[FIELDS_PARAM],
        responses=responses(StockRowSerializer(many=True), INVALID, NOT_FOUND),
    )
    def list(self, request, *args, **kwargs):
        fields = _sparse_fields(request)
        columns = columns_for(fields) if fields else None
        stocks = self.filter_queryset(Stock.objects.active().list_columns(columns))
        page = self.paginate_queryset(stocks)
        serializer = self.get_serializer(page, many=True, fields=fields)
        return self.get_paginated_response(serializer.data)

    @extend_schema(responses=responses(StockDetailSerializer, NOT_FOUND))
    def retrieve(self, request, ticker: str):
        stock = get_stock(ticker)
        return Response(StockDetailSerializer(stock, context=self.get_serializer_context()).data)

    @extend_schema(
        parameters=[SearchParams], responses=responses(SearchResponseSerializer, INVALID)
    )
    @action(detail=False, filterset_class=None, pagination_class=None)
    def search(self, request):
        params = _params(SearchParams, request)
        hits = Stock.objects.search(params["q"], params["limit"])
        data = SearchHitSerializer(hits, many=True, context=self.get_serializer_context()).data
        return Response({"query": params["q"], "count": len(data), "results": data})

    @extend_schema(responses=CatalogSerializer)
    @action(detail=False, filterset_class=None, pagination_class=None)
    def fields(self, request):
        return Response(build_catalog())

    @extend_schema(
        parameters=[HistoryParams],
        responses=responses(HistoryResponseSerializer, INVALID, NOT_FOUND),
    )
    @action(detail=True, filterset_class=None, pagination_class=None)
    def history(self, request, ticker: str):
        params = _params(HistoryParams, request)
        stock = get_stock(ticker, Stock.objects.active().only("id", "ticker"))
        if "period" in params:
            today = timezone.now().astimezone(get_calendar().tz).date()
            start, end = period_start(params["period"], today), None
        else:
            start, end = params.get("start"), params.get("end")
        bars = price_history(stock_id=stock.id, interval=params["interval"], start=start, end=end)
        return Response(
            {
                "ticker": stock.ticker,
                "interval": params["interval"],
                "period": params.get("period"),
                "start": start,
                "end": end,
                "count": len(bars),
                "bars": BarSerializer(bars, many=True).data,
            }
        )


class RealtimeQuoteView(APIView):
    """The latest quote of one stock."""

    @extend_schema(responses=responses(RealtimeQuoteSerializer, NOT_FOUND))
    def get(self, request, ticker: str):
        stock = get_stock(ticker)
        now = timezone.now()
        context = {**freshness_context(now), "market_open": get_calendar().is_open(now)}
        return Response(RealtimeQuoteSerializer(stock, context=context).data)


class SectorSummaryView(APIView):
    """Per sector: count, advancers, decliners, mean change %, market cap."""

    @extend_schema(responses=SectorsResponseSerializer)
    def get(self, request):
        rows = SectorSummarySerializer(Stock.objects.sector_summary(), many=True).data
        return Response({"count": len(rows), "results": rows})


class MoversView(APIView):
    """Top gainers, losers or most active stocks."""

    @extend_schema(
        parameters=[MoversParams], responses=responses(MoversResponseSerializer, INVALID)
    )
    def get(self, request):
        params = _params(MoversParams, request)
        movers = Stock.objects.movers(params["kind"], params["limit"])
        data = StockRowSerializer(movers, many=True, context=freshness_context()).data
        return Response({"kind": params["kind"], "count": len(data), "results": data})
