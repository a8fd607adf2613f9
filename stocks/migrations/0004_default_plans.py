"""
The plans every installation starts with (README "Plans"); edited in the admin afterwards.
Re-running never overwrites an edited plan; rolling back removes only unused ones.
"""

from django.db import migrations

# slug, name, /minute, /day, realtime /second, search cost, max page size, max page, cursor
DEFAULT_PLANS = [
    ("anonymous", "Anonymous (per subnet)", 20, 1_000, 1, 2, 50, 10, False),
    ("free", "Free", 60, 5_000, 2, 2, 100, 20, False),
    ("basic", "Basic", 300, 50_000, 5, 1, 250, None, True),
    ("pro", "Pro", 1_200, 250_000, 10, 1, 500, None, True),
    ("enterprise", "Enterprise", 6_000, 2_000_000, 50, 1, 500, None, True),
]
FIELDS = (
    "slug",
    "name",
    "requests_per_minute",
    "requests_per_day",
    "realtime_per_second",
    "search_cost",
    "max_page_size",
    "max_page",
    "cursor_paging",
)


def create_plans(apps, schema_editor):
    Plan = apps.get_model("stocks", "Plan")
    for row in DEFAULT_PLANS:
        values = dict(zip(FIELDS, row, strict=True))
        Plan.objects.get_or_create(slug=values.pop("slug"), defaults=values)


def remove_unused_plans(apps, schema_editor):
    Plan = apps.get_model("stocks", "Plan")
    slugs = [row[0] for row in DEFAULT_PLANS]
    Plan.objects.filter(slug__in=slugs, api_keys__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("stocks", "0003_plans_and_api_keys")]

    operations = [migrations.RunPython(create_plans, remove_unused_plans)]
