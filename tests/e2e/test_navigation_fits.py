"""The main navigation in Chromium: an administrator's (and an owner's, who sees Approvals
too) items share one row at 1366 px (the signed-in name may take the next), the
administration pages behind an "Admin" disclosure that opens by keyboard; at 390 px nothing
scrolls sideways. axe and the console stay clean."""

import pytest

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.e2e.conftest import browser  # noqa: F401 - the shared browser fixture
from tests.e2e.test_accessibility import _axe, _watch
from tests.e2e.test_policy_edit import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOP_LEVEL = "nav[aria-label=Main] > ul.nav > li"


def _page(browser, live_server, width: int, height: int):  # noqa: F811
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.OWNER])
def test_the_navigation_fits_one_row_at_1366_px(browser, live_server, role):  # noqa: F811
    make_staff(role, username="ada")
    context, page = _page(browser, live_server, 1366, 900)
    problems = _watch(page)
    try:
        _sign_in(page, "ada")
        items = page.locator(TOP_LEVEL)
        tops = {round(items.nth(i).bounding_box()["y"]) for i in range(items.count())}
        assert items.count() >= 10
        assert len(tops) == 1, tops
        nav = page.locator("nav[aria-label=Main]").bounding_box()
        assert nav["x"] + nav["width"] <= 1366

        # "Admin" opens by keyboard and leads to the grouped pages.
        staff = page.get_by_role("link", name="Staff", exact=True)
        assert not staff.is_visible()
        page.locator(".nav-more summary").focus()
        page.keyboard.press("Enter")
        assert staff.is_visible()
        assert _axe(page) == []
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Pending enrollment"
        staff.click()
        page.get_by_role("heading", name="Staff", level=1).wait_for()
        assert problems == []
    finally:
        context.close()


def test_nothing_scrolls_sideways_at_390_px(browser, live_server):  # noqa: F811
    make_staff(Role.OWNER, username="olivia")
    context, page = _page(browser, live_server, 390, 844)
    problems = _watch(page)
    try:
        _sign_in(page, "olivia")
        page.locator(".nav-more summary").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.get_by_role("link", name="Administration").bounding_box()["x"] >= 0
        assert problems == []
    finally:
        context.close()
