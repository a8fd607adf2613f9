from django.apps import AppConfig


class StocksConfig(AppConfig):
    name = "stocks"
    verbose_name = "Stocks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect()
