"""The URLs `python -m bench.run_bench` measures with (it sets them as ROOT_URLCONF): the app's
own, project.urls, and a minimal view that goes through the same middleware, which every
figure is compared with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("bench/minimal/", minimal), path("", include("project.urls"))]
