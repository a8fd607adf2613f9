"""The plans the data migration creates, as README.md documents them."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site

from stocks.access.models import APIKey, Plan

pytestmark = pytest.mark.django_db

# slug: (per minute, per day, realtime per second, search cost, max page size, max page, cursor)
DOCUMENTED = {
    "anonymous": (20, 1_000, 1, 2, 50, 10, False),
    "free": (60, 5_000, 2, 2, 100, 20, False),
    "basic": (300, 50_000, 5, 1, 250, None, True),
    "pro": (1_200, 250_000, 10, 1, 500, None, True),
    "enterprise": (6_000, 2_000_000, 50, 1, 500, None, True),
}


def test_default_plans__as_documented():
    found = {
        plan.slug: (
            plan.requests_per_minute, plan.requests_per_day, plan.realtime_per_second,
            plan.search_cost, plan.max_page_size, plan.max_page, plan.cursor_paging,
        )
        for plan in Plan.objects.all()
    }  # fmt: skip
    assert found == DOCUMENTED


def test_pro__at_least_2000_requests_an_hour():
    pro = Plan.objects.get(slug="pro")
    assert min(pro.requests_per_minute * 60, pro.requests_per_day) >= 2_000


def test_plans_and_keys_are_in_the_admin(admin_client):
    assert Plan in site._registry and APIKey in site._registry
    assert admin_client.get("/admin/stocks/plan/").status_code == 200
    assert admin_client.get("/admin/stocks/apikey/").status_code == 200


def test_admin__a_new_key_is_shown_once(admin_client, admin_user):
    plan = Plan.objects.get(slug="basic")
    response = admin_client.post(
        "/admin/stocks/apikey/add/",
        {"name": "from the admin", "user": admin_user.pk, "plan": plan.pk,
         "allowed_origins": "", "external_id": "", "expiry_date_0": "", "expiry_date_1": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    key = APIKey.objects.get(name="from the admin")
    shown = [str(m) for m in response.context["messages"]]
    assert any(
        key.prefix in message and "not be able to see it again" in message for message in shown
    )


def test_admin__publishable_key_without_origins_refused(admin_client, admin_user):
    plan = Plan.objects.get(slug="free")
    response = admin_client.post(
        "/admin/stocks/apikey/add/",
        {"name": "browser", "user": admin_user.pk, "plan": plan.pk, "publishable": "on",
         "allowed_origins": "", "external_id": "", "expiry_date_0": "", "expiry_date_1": ""},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "must name the origins" in response.content.decode()
    assert not APIKey.objects.exists()


def test_admin__the_new_key_is_never_in_a_cookie(admin_client, admin_user):
    plan = Plan.objects.get(slug="basic")
    response = admin_client.post(
        "/admin/stocks/apikey/add/",
        {"name": "cookie check", "user": admin_user.pk, "plan": plan.pk,
         "allowed_origins": "", "external_id": "", "expiry_date_0": "", "expiry_date_1": ""},
    )  # fmt: skip
    assert response.status_code == 302
    assert "messages" not in response.cookies
