from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from ..tickers import TICKER_PATH_PATTERN
from . import views

app_name = "api"

# SimpleRouter, not DefaultRouter: format suffixes would read BRK.B as ticker BRK, format B.
router = SimpleRouter()
router.register("stocks", views.StockViewSet, basename="stock")

urlpatterns = [
    *router.urls,
    re_path(
        rf"^realtime/(?P<ticker>{TICKER_PATH_PATTERN})/$",
        views.RealtimeQuoteView.as_view(),
        name="realtime",
    ),
    path("market/sectors/", views.SectorSummaryView.as_view(), name="market-sectors"),
    path("market/movers/", views.MoversView.as_view(), name="market-movers"),
]
