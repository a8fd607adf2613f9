"""The app's URLs: the REST API under /api/, health under /health/ and /system/."""

from django.urls import include, path, re_path

from .api.schema import RedocView, SchemaView, SwaggerView
from .errors import api_not_found
from .health import views as health

urlpatterns = [
    path("api/", include("stocks.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    # Anything else under /api/ is a JSON 404, whatever DEBUG says.
    re_path(r"^api/", api_not_found),
    path("health/", health.health, name="health"),
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("health/detailed/", health.DetailedHealthView.as_view(), name="health-detailed"),
    path("health/metrics/", health.MetricsView.as_view(), name="health-metrics"),
    path("health/performance/", health.PerformanceView.as_view(), name="health-performance"),
    path("health/database/", health.DatabaseView.as_view(), name="health-database"),
    path("system/memory/", health.MemoryView.as_view(), name="system-memory"),
]
