"""Who may read the operator health views: staff sessions, or the HEALTH_TOKEN bearer."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import authentication, exceptions, permissions

from ..access.clients import parse_address


class HealthOperator:
    """The caller authenticated by HEALTH_TOKEN: an operator, not a database user."""

    is_authenticated = True
    is_staff = True
    is_active = True
    username = "health-token"


class HealthTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <HEALTH_TOKEN>``; disabled while HEALTH_TOKEN is empty."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed bearer token.")
        expected = settings.HEALTH_TOKEN.encode()
        if not expected or not hmac.compare_digest(header[1], expected):
            raise exceptions.AuthenticationFailed("Invalid health token.")
        return HealthOperator(), None

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="health"'


class IsOperator(permissions.BasePermission):
    message = "Operator views need a staff session or the health token."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


def metrics_refusal(request) -> tuple[str, str] | None:
    """
    Why ``request`` may not read /metrics, as (error code, message), or None when it may:
    ``Authorization: Bearer <METRICS_TOKEN>``, or a connection from ``METRICS_ALLOWED_NETWORKS``.
    The network is the connecting peer's (``REMOTE_ADDR``), never ``X-Forwarded-For``: Prometheus
    scrapes each instance directly, and whoever reaches an instance's port could write that
    header. Both empty: closed.
    """
    header = authentication.get_authorization_header(request).split()
    if header and header[0].lower() == b"bearer":
        expected = settings.METRICS_TOKEN.encode()
        if len(header) == 2 and expected and hmac.compare_digest(header[1], expected):
            return None
        return "authentication_failed", "Invalid metrics token."
    address = parse_address(request.META.get("REMOTE_ADDR", ""))
    if address is not None and any(address in net for net in settings.METRICS_ALLOWED_NETWORKS):
        return None
    return "not_authenticated", "/metrics needs the metrics token or an allowed network."
