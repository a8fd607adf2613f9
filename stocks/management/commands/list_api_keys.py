"""List API keys: prefix, owner, plan, state. Never the keys themselves."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from stocks.access.models import APIKey
from stocks.management.base import EXIT_OK, OperatorCommand
from stocks.services.api_keys import describe_key


@dataclass(frozen=True)
class Listing:
    keys: list[dict]
    exit_code: int = EXIT_OK

    def as_dict(self) -> dict:
        return {"status": "ok", "count": len(self.keys), "keys": self.keys}


def _state(key: dict, now) -> str:
    if key["revoked"]:
        return "revoked"
    if key["expires"] is not None and key["expires"] <= now:
        return "expired"
    return "active"


class Command(OperatorCommand):
    help = "List API keys (prefix, name, owner, plan, state, last use); never the keys."
    exit_codes = "0 listed, 2 failed (database unreachable)"

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="USERNAME", help="Only this user's keys.")
        parser.add_argument("--plan", metavar="SLUG", help="Only keys on this plan.")
        parser.add_argument(
            "--active", action="store_true", help="Only usable keys (not revoked or expired)."
        )

    def perform(self, *, user, plan, active, **options) -> Listing:
        keys = APIKey.objects.select_related("user", "plan").order_by("created", "prefix")
        if user:
            keys = keys.filter(user__username=user)
        if plan:
            keys = keys.filter(plan__slug=plan)
        now = timezone.now()
        described = [{**describe_key(key), "state": None} for key in keys]
        for key in described:
            key["state"] = _state(key, now)
        if active:
            described = [key for key in described if key["state"] == "active"]
        return Listing(described)

    def render(self, result: Listing) -> None:
        write = self.stdout.write
        if not result.keys:
            write("No API keys.")
            return
        write(f"{'PREFIX':<9} {'STATE':<8} {'PLAN':<11} {'USER':<16} {'LAST USED':<20} NAME")
        for key in result.keys:
            used = key["last_used"].strftime("%Y-%m-%d %H:%M") if key["last_used"] else "never"
            write(
                f"{key['prefix']:<9} {key['state']:<8} {key['plan']:<11} "
                f"{key['user'][:16]:<16} {used:<20} {key['name']}"
            )
        write(f"{len(result.keys)} key(s).")
