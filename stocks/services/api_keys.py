"""Creating and revoking API keys: what the commands and the admin do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from ..access import keys
from ..access.keys import ANONYMOUS_PLAN
from ..access.models import APIKey, Plan


class KeyRequestInvalid(ValueError):
    """The key cannot be created or found as asked; the message says why."""


@dataclass(frozen=True)
class NewKey:
    key: APIKey
    secret: str  # the whole key: shown once, stored nowhere


def create_key(
    *,
    username: str,
    plan: str,
    name: str,
    origins: str = "",
    expires: datetime | None = None,
    publishable: bool = False,
    external_id: str = "",
) -> NewKey:
    """A new key for ``username`` on the plan with slug ``plan``."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise KeyRequestInvalid(f"No user {username!r}.")
    chosen = Plan.objects.filter(slug=plan).exclude(slug=ANONYMOUS_PLAN).first()
    if chosen is None:
        slugs = ", ".join(Plan.objects.exclude(slug=ANONYMOUS_PLAN).values_list("slug", flat=True))
        raise KeyRequestInvalid(f"No plan {plan!r} (plans: {slugs}).")
    key = APIKey(
        user=user,
        plan=chosen,
        name=name[: APIKey._meta.get_field("name").max_length],
        allowed_origins=origins,
        expiry_date=expires,
        publishable=publishable,
        external_id=external_id,
    )
    secret = APIKey.objects.assign_key(key)
    try:
        key.full_clean()
    except ValidationError as exc:
        raise KeyRequestInvalid(_describe(exc)) from exc
    with transaction.atomic():
        key.save(force_insert=True)
    return NewKey(key=key, secret=secret)


def revoke_key(*, prefix: str) -> tuple[APIKey, bool]:
    """Revoke the key with ``prefix``; (the key, whether it was usable until now)."""
    with transaction.atomic():
        key = APIKey.objects.select_for_update().filter(prefix=prefix).first()
        if key is None:
            raise KeyRequestInvalid(f"No API key with prefix {prefix!r}.")
        was_usable = not key.revoked
        if was_usable:
            key.revoked = True
            key.save(update_fields=["revoked"])
    keys.forget(prefix)
    return key, was_usable


def describe_key(key: APIKey) -> dict:
    """A key as the commands print it: everything but the key and its hash."""
    return {
        "prefix": key.prefix,
        "name": key.name,
        "user": key.user.get_username(),
        "plan": key.plan.slug,
        "external_id": key.external_id,
        "allowed_origins": sorted(key.origins),
        "publishable": key.publishable,
        "created": key.created,
        "expires": key.expiry_date,
        "revoked": key.revoked,
        "last_used": key.last_used,
    }


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
