from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # ADMIN_URL moves the admin, or (empty) closes it.
    *([path(settings.ADMIN_URL, admin.site.urls)] if settings.ADMIN_URL else []),
    path("", include("stocks.urls")),
]

handler400 = "stocks.errors.handler400"
handler403 = "stocks.errors.handler403"
handler404 = "stocks.errors.handler404"
handler500 = "stocks.errors.handler500"
