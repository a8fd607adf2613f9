"""Create an API key and print it, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from stocks.management.base import EXIT_OK, OperatorCommand, OperatorFailed
from stocks.services.api_keys import KeyRequestInvalid, NewKey, create_key, describe_key


@dataclass(frozen=True)
class Created:
    new: NewKey
    exit_code: int = EXIT_OK

    def as_dict(self) -> dict:
        return {"status": "done", "key": self.new.secret, **describe_key(self.new.key)}


def _expiry(value: str | None) -> datetime | None:
    """An ISO date (the key expires at the start of that day, UTC) or date-time."""
    if value is None:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise OperatorFailed(f"--expires {value!r}: give YYYY-MM-DD or an ISO date-time.")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if moment <= timezone.now():
        raise OperatorFailed(f"--expires {value!r} is in the past.")
    return moment


class Command(OperatorCommand):
    help = (
        "Create an API key for a user on a plan and print it. The key is shown this once: "
        "only its hash is stored."
    )
    exit_codes = "0 created, 2 failed (no such user or plan, invalid origins or expiry)"

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, metavar="USERNAME", help="The key's owner.")
        parser.add_argument("--plan", required=True, metavar="SLUG", help="free, basic, pro, …")
        parser.add_argument("--name", default="", help="A label (default: USERNAME's key).")
        parser.add_argument(
            "--origins",
            default="",
            help="Comma list of origins (https://example.com) allowed to use it from a browser.",
        )
        parser.add_argument("--expires", help="Expiry: YYYY-MM-DD (UTC) or an ISO date-time.")
        parser.add_argument(
            "--publishable",
            action="store_true",
            help="A browser key, for a site's JavaScript: needs --origins.",
        )
        parser.add_argument("--external-id", default="", help="The member's id on the site.")

    def perform(self, *, user, plan, name, origins, expires, publishable, external_id, **_):
        try:
            new = create_key(
                username=user,
                plan=plan,
                name=name or f"{user}'s key",
                origins=origins,
                expires=_expiry(expires),
                publishable=publishable,
                external_id=external_id,
            )
        except KeyRequestInvalid as exc:
            raise OperatorFailed(str(exc)) from exc
        return Created(new)

    def render(self, result: Created) -> None:
        key = describe_key(result.new.key)
        self.stdout.write(result.new.secret)
        self.stderr.write(
            f"Created key {key['prefix']} ({key['name']}) for {key['user']} on plan "
            f"{key['plan']}. Store it now: it cannot be shown again."
        )
