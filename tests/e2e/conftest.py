"""Browser journeys in real Chromium through Playwright.

Playwright cannot download its own browser here; it drives the system Chromium
(CHROMIUM_PATH, default /usr/bin/chromium). Without one the journeys skip with a reason,
and CI (REQUIRE_ALL_TESTS=1) turns that skip into a failure.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    path = _chromium_path()
    if path is None:
        pytest.skip("Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while the browser is
    # open; the journey's own ORM calls (database setup, test data for the live server) are
    # ordinary blocking calls and safe. Browser and permission both live for one module only,
    # so they never reach other tests.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
