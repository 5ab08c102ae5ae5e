"""{% link %}: the address of a page or a static file that every page's frame links to
(base.html), worked out once per process. Reversing the URLs and finding the static files'
hashed names on every page was half the time of drawing a page's frame, and a page served
from the cache (Relief) is little more than its frame."""

from functools import lru_cache

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse

register = template.Library()

# What the frame links to: URL names, and static files by their path.
PAGES = [
    *("home", "sharing", "settings", "clinic_settings", "account_login", "account_logout"),
    *("manifest", "api:sync", "today", "relief", "history", "injection_list"),
    *("reaction_list", "clinic", "clinic_invite", "team"),
]
FILES = [
    *("css/app.css", "img/icon.svg", "img/apple-touch-icon.png", "js/outbox.js"),
    *("js/app.js", "js/relief.js"),
]


@register.simple_tag
def link(name: str) -> str:
    """{% link "today" %} as {% url "today" %}, {% link "css/app.css" %} as {% static ... %}."""
    return links(get_script_prefix(), settings.STATIC_URL)[name]


@lru_cache(maxsize=8)
def links(script_prefix: str, static_url: str) -> dict[str, str]:
    return {name: reverse(name) for name in PAGES} | {name: static(name) for name in FILES}


@receiver(setting_changed)
def forget_links(**kwargs) -> None:  # a test's other URLs or static files
    links.cache_clear()
