"""Saves and deletes of single rows (the admin, a shell, factories) move the data version."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from . import data_version


def data_changed(sender, using=None, **kwargs) -> None:
    data_version.mark_changed(using)


def connect() -> None:
    from .models import PriceBar, SearchTerm, Stock

    for model in (Stock, PriceBar, SearchTerm):
        post_save.connect(data_changed, sender=model, dispatch_uid=f"data-version-{model.__name__}")
        post_delete.connect(
            data_changed, sender=model, dispatch_uid=f"data-version-delete-{model.__name__}"
        )
