"""Where a route's view lives is the rule of tracker/urls.py: a page in tracker/views/ (one
module per audience), JSON in tracker/api.py, or one of the app-shell views with no patient
data. A new route fails here until it is placed."""

import ast
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver

from tracker import urls

APP_SHELL = {
    "tracker.health.healthz",
    "tracker.pwa.manifest",
    "tracker.pwa.offline",
    "tracker.pwa.service_worker",
}


def routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern.callback


def defined_in(view) -> tuple[str, str]:
    """The module and name of the code behind a view function, a class-based view or a viewset."""
    code = getattr(view, "cls", None) or getattr(view, "view_class", None) or view
    return code.__module__, code.__name__


ROUTES = list(routes(urls.urlpatterns))
VIEWS = Path(__file__).resolve().parents[1] / "tracker" / "views"


@pytest.mark.parametrize(("route", "view"), ROUTES, ids=[route for route, _ in ROUTES])
def test_every_route_names_a_view_of_its_room(route, view):
    module, name = defined_in(view)
    placed = module.startswith("tracker.views.") or module == "tracker.api"
    assert placed or f"{module}.{name}" in APP_SHELL, f"{route} -> {module}.{name}"


def imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


@pytest.mark.parametrize("path", sorted(VIEWS.glob("*.py")), ids=lambda path: path.name)
def test_no_view_module_imports_another(path):
    assert not any(name.startswith("tracker.views") for name in imported_modules(path.read_text()))
