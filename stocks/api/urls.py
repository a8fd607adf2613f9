from django.urls import re_path
from rest_framework.routers import SimpleRouter

from ..tickers import TICKER_PATH_PATTERN
from . import views

app_name = "api"

# SimpleRouter, not DefaultRouter: format suffixes would read BRK.B as ticker BRK, format B.
# The trailing slash is optional: clients calling /api/stocks get the same answer as
# /api/stocks/ (a redirect would lose the query string for some HTTP clients).
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("stocks", views.StockViewSet, basename="stock")

urlpatterns = [
    *router.urls,
    re_path(
        rf"^realtime/(?P<ticker>{TICKER_PATH_PATTERN})/?$",
        views.RealtimeQuoteView.as_view(),
        name="realtime",
    ),
    re_path(r"^market/sectors/?$", views.SectorSummaryView.as_view(), name="market-sectors"),
    re_path(r"^market/movers/?$", views.MoversView.as_view(), name="market-movers"),
    re_path(r"^account/usage/?$", views.AccountUsageView.as_view(), name="account-usage"),
]
