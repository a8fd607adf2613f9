"""Migrations that do more than Django's own operations."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.db import connection

from stocks.db_introspection import index_status
from stocks.models import Stock

count_indexes = importlib.import_module("stocks.migrations.0002_screen_count_indexes")


def _present() -> dict[str, bool]:
    return {declared.name: present for declared, present in index_status()}


@pytest.mark.django_db(transaction=True)
def test_0002__rerun_after_an_interruption_completes_it():
    """An index the interrupted run had not built yet is built; finished steps are skipped."""
    (index,) = [i for i in Stock._meta.indexes if i.name == "stock_volume_act_idx"]
    with connection.schema_editor() as editor:
        editor.remove_index(Stock, index)
    assert _present()["stock_volume_act_idx"] is False
    try:
        with connection.schema_editor(atomic=False) as editor:
            count_indexes.forwards(global_apps, editor)
        assert all(_present().values())
    finally:
        if not _present()["stock_volume_act_idx"]:
            with connection.schema_editor() as editor:
                editor.add_index(Stock, index)


@pytest.mark.django_db(transaction=True)
def test_0002__backwards_then_forwards():
    """Backwards restores the one-column indexes; forwards builds the new ones first."""
    names = [new for _, new, _ in count_indexes.RENAMED]
    try:
        with connection.schema_editor(atomic=False) as editor:
            count_indexes.backwards(global_apps, editor)
        with connection.cursor() as cursor:
            present = connection.introspection.get_constraints(cursor, Stock._meta.db_table)
        assert not set(names) & set(present)
        assert {old for old, _, _ in count_indexes.RENAMED} <= set(present)
    finally:
        with connection.schema_editor(atomic=False) as editor:
            count_indexes.forwards(global_apps, editor)
    with connection.cursor() as cursor:
        present = connection.introspection.get_constraints(cursor, Stock._meta.db_table)
    assert set(names) <= set(present)
    assert not {old for old, _, _ in count_indexes.RENAMED} & set(present)
