"""CI keeps the browser tests' screenshots (every page at 360 x 640, at 200 % text and at
1,280 x 800: tests/e2e/screens.py, SCREENSHOT_DIR) in one folder of the checkout that git
ignores: a CI system keeps that folder as its artifacts, and no screenshot is ever committed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_writes_the_screenshots_into_a_folder_git_ignores():
    run = (ROOT / ".ci" / "run").read_text()
    found = re.search(r'^export SCREENSHOT_DIR="\$\{SCREENSHOT_DIR:-\$PWD/([^}"]+)\}"$', run, re.M)
    assert found, ".ci/run names no screenshot folder"
    top = found.group(1).split("/")[0] + "/"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert top in ignored
    assert found.start() < run.index("make test")  # set before the tests run
