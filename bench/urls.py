from django.http import JsonResponse
from django.urls import include, path


def noop(request):
    """The baseline: a Django view that does no work."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/noop/", noop),
    path("", include("stockscanner_django.urls")),
]
