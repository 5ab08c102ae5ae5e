from playwright.sync_api import BrowserType

from tests.e2e.conftest import PHONE, wait_for_worker


def test_the_app_is_installable(
    browser_type: BrowserType, browser_type_launch_args: dict, log_in, tmp_path
):
    # A persistent profile: Chromium never offers to install from an incognito context.
    context = browser_type.launch_persistent_context(
        tmp_path, viewport=PHONE, **browser_type_launch_args
    )
    try:
        page = log_in(context.pages[0] if context.pages else context.new_page())
        wait_for_worker(page)
        devtools = context.new_cdp_session(page)

        manifest = devtools.send("Page.getAppManifest")
        installability = devtools.send("Page.getInstallabilityErrors")
    finally:
        context.close()

    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    assert installability["installabilityErrors"] == []
