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


def add_key_in_the_admin(client, user, plan: str, follow: bool = False, **fields):
    """The admin's add form, posted as a browser would (empty optional fields included)."""
    form = {"user": user.pk, "plan": Plan.objects.get(slug=plan).pk, "allowed_origins": "",
            "external_id": "", "expiry_date_0": "", "expiry_date_1": "", **fields}  # fmt: skip
    return client.post("/admin/stocks/apikey/add/", form, follow=follow)


def test_admin__a_new_key_is_shown_once(admin_client, admin_user):
    response = add_key_in_the_admin(
        admin_client, admin_user, "basic", follow=True, name="from the admin"
    )
    assert response.status_code == 200
    key = APIKey.objects.get(name="from the admin")
    shown = [str(m) for m in response.context["messages"]]
    assert any(
        key.prefix in message and "not be able to see it again" in message for message in shown
    )


def test_admin__publishable_key_without_origins_refused(admin_client, admin_user):
    response = add_key_in_the_admin(
        admin_client, admin_user, "free", name="browser", publishable="on"
    )
    assert response.status_code == 200  # the form again, with the error
    assert "must name the origins" in response.content.decode()
    assert not APIKey.objects.exists()


def test_admin__the_new_key_is_never_in_a_cookie(admin_client, admin_user):
    response = add_key_in_the_admin(admin_client, admin_user, "basic", name="cookie check")
    assert response.status_code == 302
    assert "messages" not in response.cookies


def test_request_time_limits_copy_every_limit_field_of_the_plan():
    from stocks.access.keys import Limits

    assert tuple(Limits.__dataclass_fields__) == ("slug", "name", *Plan.LIMIT_FIELDS)
