"""Screenshots of a page as a phone, at 200 % text, and on a desktop, for people to look at:
under SCREENSHOT_DIR (default /tmp/screenshots), kept by CI as artifacts, never committed."""

import os
from pathlib import Path

from playwright.sync_api import Page

PHONE_640 = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
# The browser's own "Add to Home screen" bar (Chrome's install mini-infobar) covers the
# bottom of a phone's screen: the check-in's scale must end above it.
INSTALL_BANNER_PX = 72


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def large_text(page: Page, on: bool) -> None:
    """200 % text, as the phone's setting gives it: the root size doubled (the CSS starts
    from 112.5 %, so 225 %)."""
    page.evaluate("(on) => { document.documentElement.style.fontSize = on ? '225%' : ''; }", on)


def shoot(page: Page, name: str) -> list[Path]:
    """The page as it is now at 360 x 640, at 200 % text, and at 1,280 x 800 (full pages)."""
    folder = screenshot_dir()
    size = page.viewport_size
    shots = []
    for label, viewport, big in [
        ("360x640", PHONE_640, False),
        ("360x640-text200", PHONE_640, True),
        ("1280x800", DESKTOP, False),
    ]:
        page.set_viewport_size(viewport)
        large_text(page, big)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    large_text(page, False)
    if size:
        page.set_viewport_size(size)
    return shots
