"""
Every screen filter's index gains is_active, so a screen's COUNT reads the index alone.

Safe on a live table: the new indexes (new names) are built before the old ones go, so
screens never run without one; on PostgreSQL both steps run CONCURRENTLY (no lock that
blocks reads or ingest), hence a non-atomic migration. Each step is skipped when already
done, so a run interrupted half way (MySQL DDL is not transactional) can simply be re-run.
"""

from django.db import migrations, models

# old name, new name, column
RENAMED = [
    ("stock_industry_idx", "stock_industry_act_idx", "industry"),
    ("stock_exchange_idx", "stock_exchange_act_idx", "exchange"),
    ("stock_country_idx", "stock_country_act_idx", "country"),
    ("stock_price_idx", "stock_price_act_idx", "price"),
    ("stock_change_idx", "stock_change_act_idx", "change"),
    ("stock_change_pct_idx", "stock_change_pct_act_idx", "change_percent"),
    ("stock_volume_idx", "stock_volume_act_idx", "volume"),
    ("stock_avg_volume_idx", "stock_avg_volume_act_idx", "avg_volume_30d"),
    ("stock_pe_idx", "stock_pe_act_idx", "pe_ratio"),
    ("stock_div_yield_idx", "stock_div_yield_act_idx", "dividend_yield"),
    ("stock_beta_idx", "stock_beta_act_idx", "beta"),
    ("stock_rsi_idx", "stock_rsi_act_idx", "rsi_14"),
    ("stock_volatility_idx", "stock_volatility_act_idx", "volatility_30d"),
]


def _existing(schema_editor, table: str) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def _swap(apps, schema_editor, *, forwards: bool) -> None:
    Stock = apps.get_model("stocks", "Stock")
    table = Stock._meta.db_table
    options = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
    present = _existing(schema_editor, table)
    for old, new, column in RENAMED:
        added = models.Index(
            fields=[column, "is_active"] if forwards else [column], name=new if forwards else old
        )
        if added.name not in present:
            schema_editor.add_index(Stock, added, **options)
    for old, new, column in RENAMED:
        dropped = models.Index(
            fields=[column] if forwards else [column, "is_active"], name=old if forwards else new
        )
        if dropped.name in present:
            schema_editor.remove_index(Stock, dropped, **options)


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, forwards=True)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, forwards=False)


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("stocks", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *(migrations.RemoveIndex(model_name="stock", name=old) for old, _, _ in RENAMED),
                *(
                    migrations.AddIndex(
                        model_name="stock",
                        index=models.Index(fields=[column, "is_active"], name=new),
                    )
                    for _, new, column in RENAMED
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
