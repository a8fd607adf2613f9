from contextlib import suppress

from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from .models import APIKey, Plan, PriceBar, Stock


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("ticker", "name", "exchange", "sector", "price", "change_percent", "quote_time")
    list_filter = ("is_active", "exchange", "sector")
    search_fields = ("ticker", "name")
    ordering = ("ticker",)


@admin.register(PriceBar)
class PriceBarAdmin(admin.ModelAdmin):
    list_display = ("stock", "date", "open", "high", "low", "close", "volume")
    list_select_related = ("stock",)
    raw_id_fields = ("stock",)
    date_hierarchy = "date"


# --- access: plans and API keys -----------------------------------------------------------

# The library's own key model is not ours (stocks.APIKey extends its abstract base).
with suppress(admin.sites.NotRegistered):
    admin.site.unregister(LibraryAPIKey)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", *Plan.LIMIT_FIELDS)
    ordering = ("requests_per_minute",)


@admin.register(APIKey)
class KeyAdmin(APIKeyModelAdmin):
    """Creating a key here shows it once, in a message; only its hash is stored."""

    list_display = (
        "prefix",
        "name",
        "user",
        "plan",
        "publishable",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used",
    )
    list_filter = ("plan", "revoked", "publishable", "created")
    list_select_related = ("user", "plan")
    search_fields = ("name", "prefix", "user__username", "external_id")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "last_used")
