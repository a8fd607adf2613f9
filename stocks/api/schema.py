"""
The OpenAPI schema and its UIs (drf-spectacular). They answer GET and HEAD only: their
renderers are YAML and HTML, which cannot answer OPTIONS, and their errors are turned
into the JSON error body by ``stocks.middleware.JsonErrorMiddleware``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

READ_ONLY = ["get", "head"]


class PublicDocs:
    """Read-only and for anyone: nothing under /api/ reads a session (stocks.urls)."""

    http_method_names = READ_ONLY
    authentication_classes = ()


class SchemaView(PublicDocs, SpectacularAPIView):
    pass


class SwaggerView(PublicDocs, SpectacularSwaggerView):
    pass


class RedocView(PublicDocs, SpectacularRedocView):
    template_name = "stocks/redoc.html"  # no web fonts from Google: nothing leaves the box


class EnvelopeSchema(AutoSchema):
    """
    For views whose every answer is one object (a page envelope, a search result): the
    list action answers ``{"count", "next", "previous", "results"}``, which drf-spectacular
    would otherwise wrap in an array because the action is called ``list``.
    """

    def _is_list_view(self, serializer=None) -> bool:
        return False
