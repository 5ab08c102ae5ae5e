"""Every page's frame (base.html) links through {% link %}: the same addresses as {% url %} and
{% static %} give, worked out once per process (tracker/templatetags/frame.py)."""

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import override_settings
from django.urls import reverse

from tracker.templatetags import frame


def test_each_link_is_the_address_url_or_static_gives():
    for name in frame.PAGES:
        assert frame.link(name) == reverse(name), name
    for name in frame.FILES:
        assert frame.link(name) == static(name), name


def test_a_page_drawn_without_a_request_links_its_stylesheet_and_scripts():
    html = render_to_string("tracker/offline.html")  # as a PDF's or an error's page is drawn
    for name in ("css/app.css", "js/app.js", "js/outbox.js"):
        assert f'"{static(name)}"' in html, name


def test_other_settings_give_other_links():
    before = frame.link("css/app.css")
    with override_settings(STATIC_URL="/elsewhere/"):
        assert frame.link("css/app.css").startswith("/elsewhere/")
    assert frame.link("css/app.css") == before
