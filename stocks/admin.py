from django.contrib import admin

from .models import PriceBar, Stock


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
