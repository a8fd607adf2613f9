"""
DRF's content negotiation, decided once per distinct ``Accept`` header.

``DefaultContentNegotiation`` parses the ``Accept`` header and matches it against every
renderer on each request: about a fifth of a cached answer's time in the view. The
decision depends only on the header, the ``format`` asked for and the view's renderer
classes, so it is remembered for those (a bounded LRU: a new header costs what it did).
The query string is parsed for ``format`` only when that name appears in it. A refusal
(406) is not remembered: it raises, as before.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from rest_framework.negotiation import DefaultContentNegotiation


class RememberedContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        chosen = format_suffix or self._format_parameter(request)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        index, media_type = _decide(accept, chosen, tuple(type(r) for r in renderers))
        return renderers[index], media_type

    def _format_parameter(self, request) -> str | None:
        """``?format=``; the query string is parsed only if the name is in it at all."""
        name = self.settings.URL_FORMAT_OVERRIDE
        if not name or name not in request.META.get("QUERY_STRING", ""):
            return None
        return request.query_params.get(name)


@functools.lru_cache(maxsize=256)
def _decide(accept: str, chosen: str | None, classes: tuple[type, ...]) -> tuple[int, str]:
    renderers = [cls() for cls in classes]
    request = SimpleNamespace(META={"HTTP_ACCEPT": accept}, query_params={})
    renderer, media_type = DefaultContentNegotiation().select_renderer(
        request, renderers, format_suffix=chosen
    )
    return renderers.index(renderer), media_type
