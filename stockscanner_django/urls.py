from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("stocks.urls")),
]

handler400 = "stocks.errors.handler400"
handler403 = "stocks.errors.handler403"
handler404 = "stocks.errors.handler404"
handler500 = "stocks.errors.handler500"
