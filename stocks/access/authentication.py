"""
DRF authentication by API key: ``X-API-Key: <key>`` or ``Authorization: Api-Key <key>``.

No key: the caller is anonymous (``request.auth`` is None) and the anonymous limits
apply. A key that is malformed, unknown, revoked or expired: 401 with the JSON error
body, never a silent fall back to anonymous. A key bound to origins, used from a browser
page of another origin: 403; a publishable key asking to change anything: 403.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS

from . import keys, throttles
from .origins import request_origin


class OriginNotAllowed(exceptions.PermissionDenied):
    default_code = "origin_not_allowed"


class APIKeyUser:
    """The caller of a keyed request: ``request.user``. Not a Django user session."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, record: keys.KeyRecord) -> None:
        self.pk = self.id = record.user_id
        self.key = record

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


def _reads(request) -> bool:
    """A safe method, or a POST that only reads (a view's ``read_only_actions``)."""
    if request.method in SAFE_METHODS:
        return True
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return getattr(view, "action", None) in getattr(view, "read_only_actions", ())


class APIKeyAuthentication(BaseAuthentication):
    @sensitive_variables("given")
    def authenticate(self, request):
        given = keys.key_from(request)
        if given is None:
            return None
        try:
            record = self._check(request, keys.verify(given))
        except exceptions.APIException:
            throttles.charge_refused_credentials(request)  # 429 once the subnet is spent
            raise
        keys.touch(record)
        return APIKeyUser(record), record

    @staticmethod
    def _check(request, record: keys.KeyRecord) -> keys.KeyRecord:
        origin = request_origin(request)
        if record.origins and origin is not None and origin not in record.origins:
            raise OriginNotAllowed(f"This API key may not be used from {origin}.")
        if record.publishable and not _reads(request):
            raise exceptions.PermissionDenied("A publishable API key is read-only.")
        return record

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) with WWW-Authenticate when a key is refused.
        return 'Api-Key realm="api"'


class APIKeySchemeExtension(OpenApiAuthenticationExtension):
    """The API-key scheme in the OpenAPI schema (drf-spectacular finds it by import)."""

    target_class = APIKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A member's API key (also accepted as `Authorization: Api-Key "
            "<key>`). Optional on every public operation: without one the caller is "
            "anonymous.",
        }
