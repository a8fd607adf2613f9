"""
The WSGI handler gunicorn serves: Django's, with each path's URL resolution remembered.

Django resolves every request's path afresh: a walk down the nested URLconfs (project,
app, API router), a regular expression and a ``ResolverMatch`` at each level. For a
cached answer that walk was about a tenth of the request (30 of 265 µs in-process). A
path's match depends only on the path and the URLconf, so the last few hundred paths'
matches are kept, keyed by the URLconf's resolver: when the URLconf is reloaded
(``clear_url_caches``), Django builds a new resolver and its paths are resolved afresh. A
path that matches nothing raises ``Resolver404`` as before and is not kept; a long path is
never kept.

The matches are shared by the requests of one path. Nothing in Django, DRF or this
project changes a ``ResolverMatch``; its keyword arguments, which Django hands to each
middleware's ``process_view`` as they are, are kept read-only, so a middleware that one day
changed them would fail at once rather than change the next request's.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

from django.core.handlers.wsgi import WSGIHandler as DjangoWSGIHandler
from django.urls import ResolverMatch, URLResolver, get_resolver

# Paths kept: a worker's working set (list, search, movers, sectors, the details of the
# most asked tickers); the rest are resolved each time.
REMEMBERED_PATHS = 512
# Longer paths are resolved each time (a ticker path is under 40 characters).
REMEMBERED_PATH_CHARS = 200


@functools.lru_cache(maxsize=REMEMBERED_PATHS)
def _resolve(resolver: URLResolver, path: str) -> ResolverMatch:
    match = resolver.resolve(path)
    for name in ("kwargs", "captured_kwargs", "extra_kwargs"):
        if isinstance(getattr(match, name), dict):
            setattr(match, name, MappingProxyType(getattr(match, name)))
    return match


class WSGIHandler(DjangoWSGIHandler):
    def resolve_request(self, request) -> ResolverMatch:
        # A request-specific URLconf (request.urlconf, set by a middleware) is Django's.
        if hasattr(request, "urlconf") or len(request.path_info) > REMEMBERED_PATH_CHARS:
            return super().resolve_request(request)
        match = _resolve(get_resolver(), request.path_info)
        request.resolver_match = match
        return match
