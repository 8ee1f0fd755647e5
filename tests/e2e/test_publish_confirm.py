"""An administrator publishes a playbook version in two steps in Chromium: "Lint and publish"
shows the linter's verdict and what changes against the current version, and only "Publish
version 2" publishes; retiring asks first, and a "Cancel" leaves the version current."""

import pytest
import yaml
from django.urls import reverse

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.e2e.conftest import browser, page  # noqa: F401 - the shared browser fixtures
from tests.e2e.test_accessibility import _axe, _watch
from tests.e2e.test_policy_edit import _sign_in
from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.models import PlaybookVersion
from troubleshooting.publishing import playbook_publish_source

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def test_publishing_previews_first_and_retiring_asks(page):  # noqa: F811
    problems = _watch(page)
    ada = make_staff(Role.ADMINISTRATOR, username="ada")
    playbook_publish_source(actor=ada, source=_yaml(clean_playbook()))
    _sign_in(page, "ada")

    page.goto(reverse("troubleshooting:playbook-publish"))
    changed = clean_playbook()
    node(changed, "fix")["title"] = "Turn on notifications for the app"
    page.get_by_label("Playbook YAML").fill(_yaml(changed))
    page.get_by_role("button", name="Lint and publish").click()

    # The preview: the verdict, the version it becomes, the change; nothing published yet.
    preview = page.get_by_role("region", name="Preview: Mini version 2")
    preview.wait_for()
    assert preview.get_by_text("lints clean").is_visible()
    changes = page.get_by_role("region", name="Text changes").get_by_role("row")
    assert changes.nth(1).inner_text().split("\t")[1:] == [
        "title",
        "Enable notifications",
        "Turn on notifications for the app",
    ]
    assert PlaybookVersion.objects.count() == 1
    assert _axe(page) == []

    preview.get_by_role("button", name="Publish version 2").click()
    page.get_by_text("mini v2 published: new sessions start on it.").wait_for()
    v2 = PlaybookVersion.objects.get(number=2)
    assert v2.source == _yaml(changed)  # line ends as previewed, though the browser sent CRLF

    # Retiring asks; cancelling leaves the version current.
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Retire v2").click()
    page.wait_for_timeout(300)
    v2.refresh_from_db()
    assert v2.retired_at is None
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Retire v2").click()
    page.get_by_text("mini v2 retired: new sessions no longer start on it").wait_for()
    assert (
        questions
        == [
            "Retire version 2 of Mini? New sessions will no longer start on it, and until a new "
            "version is published this playbook has none current."
        ]
        * 2
    )
    assert problems == []
