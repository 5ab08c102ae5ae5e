"""What makes the app installable and usable offline: the manifest, the service worker and the
page shown when a page was never opened before going offline."""

import hashlib
import json
from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

# Served with the worker and fetched while installing it, so they open offline.
OFFLINE_ASSETS = [
    "css/app.css",
    "js/app.js",
    "js/outbox.js",
    "img/icon.svg",
    "img/icon-192.png",
]
# The pages each role needs offline, fetched ahead by the worker; each is cached only when it
# answers without a redirect (logged in), and refreshed whenever it is viewed online. A
# clinician's phone keeps no patient's page: it would hold health data they may lose access
# to, and the patient's pages answer them 404.
OFFLINE_PAGES = {
    "patient": ["today", "injection_new", "reaction_new", "offline"],
    "clinician": ["offline"],
}
# Pages never kept: the landing page (whoever is signed out) and the clinic's pages.
NEVER_CACHED_PAGES = ["home"]
NEVER_CACHED_PREFIXES = ["clinic"]


@cache
def asset_version() -> str:
    """A digest of the static files: a deploy that changes any of them changes the worker's
    bytes, so browsers install the new worker and drop the old caches."""
    digest = hashlib.sha256()
    for finder in finders.get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            digest.update(path.encode())
            with storage.open(path) as file:
                digest.update(file.read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    config = {
        "version": asset_version(),
        "assets": [static(name) for name in OFFLINE_ASSETS],
        "pages": {role: [reverse(name) for name in names] for role, names in OFFLINE_PAGES.items()},
        "neverPages": [reverse(name) for name in NEVER_CACHED_PAGES],
        "neverPrefixes": [reverse(name) for name in NEVER_CACHED_PREFIXES],
        "offline": reverse("offline"),
        "sync": reverse("api:sync"),
        "today": reverse("today"),
        "icon": static("img/icon-192.png"),
    }
    response = render(
        request,
        "sw.js",
        {"config": json.dumps(config), "outbox": static("js/outbox.js")},
        content_type="application/javascript",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "Relief Tracker",
        "short_name": "Relief",
        "description": "A diary of botulinum toxin injections, daily spasms and relief.",
        "id": "/",
        "start_url": reverse("today") + "?source=app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b3d5c",
        "lang": settings.LANGUAGE_CODE,
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("img/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static("img/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


def product(request: HttpRequest) -> dict:
    """The product's name and its address for help, on every page (a context processor)."""
    return {"site_name": settings.SITE_NAME, "contact_email": settings.RELIEF_CONTACT_EMAIL}


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "tracker/offline.html")
