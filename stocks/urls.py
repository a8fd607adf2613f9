"""The app's URLs: the REST API under /api/, health under /health/ and /system/."""

from django.urls import include, path, re_path

from .api.schema import RedocView, SchemaView, SwaggerView
from .errors import api_not_found
from .health import views as health

# The public REST API: every path under it authenticates by API key (or none) and keeps
# no session (stocks.middleware.OffTheApi relies on that).
API_PREFIX = "api/"

urlpatterns = [
    path(API_PREFIX, include("stocks.api.urls")),
    # The trailing slash is optional here too, as everywhere under /api/.
    re_path(rf"^{API_PREFIX}schema/?$", SchemaView.as_view(), name="schema"),
    re_path(rf"^{API_PREFIX}docs/?$", SwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(rf"^{API_PREFIX}redoc/?$", RedocView.as_view(url_name="schema"), name="redoc"),
    # Anything else under /api/ is a JSON 404, whatever DEBUG says.
    re_path(rf"^{API_PREFIX}", api_not_found),
    re_path(r"^health/?$", health.health, name="health"),
    re_path(r"^health/live/?$", health.live, name="health-live"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    re_path(r"^health/detailed/?$", health.DetailedHealthView.as_view(), name="health-detailed"),
    re_path(r"^health/metrics/?$", health.MetricsView.as_view(), name="health-metrics"),
    re_path(r"^health/performance/?$", health.PerformanceView.as_view(), name="health-performance"),
    re_path(r"^health/database/?$", health.DatabaseView.as_view(), name="health-database"),
    re_path(r"^system/memory/?$", health.MemoryView.as_view(), name="system-memory"),
    re_path(r"^metrics/?$", health.prometheus, name="metrics"),
]
