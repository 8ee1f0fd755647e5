"""An invalid form in Chromium: the error summary takes the focus when the page renders, and
its link puts the cursor in the field to fix; axe finds nothing, the console stays clean."""

import pytest
from django.urls import reverse

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.e2e.test_accessibility import _axe, _watch
from tests.e2e.test_policy_edit import _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_error_summary_takes_the_focus_and_leads_to_the_field(page):  # noqa: F811
    problems = _watch(page)
    make_staff(Role.ADMINISTRATOR, username="ada")
    _sign_in(page, "ada")

    page.goto(reverse("helpdesk:staff-create"))
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Create account").click()

    alert = page.get_by_role("alert")
    alert.get_by_role("heading", name="There is a problem").wait_for()
    assert page.evaluate("document.activeElement.className") == "error-summary"
    alert.get_by_role("link", name="Email: Enter a valid email address.").click()
    assert page.evaluate("document.activeElement.id") == "id_email"
    assert _axe(page) == []
    assert problems == []
