"""The project's URLs and error handlers, plus /slow/."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("slow/", views.slow, name="slow"),
    path("", include("stockscanner_django.urls")),
]

handler400 = "stocks.errors.handler400"
handler403 = "stocks.errors.handler403"
handler404 = "stocks.errors.handler404"
handler500 = "stocks.errors.handler500"
