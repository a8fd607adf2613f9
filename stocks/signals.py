"""
Saves and deletes of single rows (the admin, a shell, factories) move the data version;
saves and deletes of API keys and plans drop this process's memory of them.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from . import data_version


def data_changed(sender, using=None, **kwargs) -> None:
    data_version.mark_changed(using)


def key_changed(sender, instance, **kwargs) -> None:
    from .access import keys

    keys.forget(instance.prefix)


def plan_changed(sender, **kwargs) -> None:
    from .access import keys

    keys.forget()  # every key of the plan: all of them, plans change rarely


def connect() -> None:
    from corsheaders.signals import check_request_enabled

    from .access.keys import cors_allows
    from .models import APIKey, Plan, PriceBar, SearchTerm, Stock

    check_request_enabled.connect(cors_allows, dispatch_uid="cors-api-key-origins")

    # A key or plan edited in this process (the admin, a command) applies at once here;
    # elsewhere within API_KEY_CACHE_SECONDS.
    for event, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(key_changed, sender=APIKey, dispatch_uid=f"api-key-{event}")
        signal.connect(plan_changed, sender=Plan, dispatch_uid=f"plan-{event}")

    for model in (Stock, PriceBar, SearchTerm):
        post_save.connect(data_changed, sender=model, dispatch_uid=f"data-version-{model.__name__}")
        post_delete.connect(
            data_changed, sender=model, dispatch_uid=f"data-version-delete-{model.__name__}"
        )
