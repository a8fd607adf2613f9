from django.apps import AppConfig


class StocksConfig(AppConfig):
    name = "stocks"
    verbose_name = "Stocks"
    default_auto_field = "django.db.models.BigAutoField"
