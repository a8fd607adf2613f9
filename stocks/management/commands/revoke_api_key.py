"""Revoke an API key by its prefix."""

from __future__ import annotations

from dataclasses import dataclass

from stocks.access.models import APIKey
from stocks.management.base import EXIT_ATTENTION, EXIT_OK, OperatorCommand, OperatorFailed
from stocks.services.api_keys import KeyRequestInvalid, describe_key, revoke_key


@dataclass(frozen=True)
class Revoked:
    key: APIKey
    was_usable: bool

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.was_usable else EXIT_ATTENTION

    def as_dict(self) -> dict:
        status = "done" if self.was_usable else "attention"
        return {"status": status, "already_revoked": not self.was_usable, **describe_key(self.key)}


class Command(OperatorCommand):
    help = (
        "Revoke an API key (its 8-character prefix, as list_api_keys shows it). Requests "
        "with it get 401: at once in this process, within API_KEY_CACHE_SECONDS in the "
        "running servers. A revocation cannot be undone."
    )
    exit_codes = "0 revoked, 1 it was already revoked, 2 failed (no key with that prefix)"

    def add_arguments(self, parser):
        parser.add_argument(
            "prefix", help="The key's prefix (its first 8 characters; a whole key will do)."
        )

    def perform(self, *, prefix, **options) -> Revoked:
        try:
            key, was_usable = revoke_key(prefix=prefix[:8])
        except KeyRequestInvalid as exc:
            raise OperatorFailed(str(exc)) from exc
        return Revoked(key, was_usable)

    def render(self, result: Revoked) -> None:
        if result.was_usable:
            self.stdout.write(self.style.SUCCESS(f"Revoked key {result.key.prefix}."))
        else:
            self.stdout.write(self.style.WARNING(f"Key {result.key.prefix} was already revoked."))
