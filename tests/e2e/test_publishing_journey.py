"""An administrator looks after a playbook in the browser: reads a version's lint verdict and
graph, has a version with a broken branch refused with the linter's message, uploads a clean
one, compares the two, retires the new one (deleting it is refused), and finds each change as
a readable line in the audit review."""

import pytest
import yaml
from django.urls import reverse

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.e2e.test_accessibility import _axe, _watch
from tests.e2e.test_policy_edit import _sign_in
from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.graph import NODE_W
from troubleshooting.publishing import playbook_publish_source
from troubleshooting.services import playbook_sync_from_files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def _inside(inner: dict, outer: dict) -> bool:
    return (
        outer["x"] <= inner["x"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and outer["y"] <= inner["y"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def test_administrator_publishes_compares_and_retires_a_playbook_version(page):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    ada = make_staff(Role.ADMINISTRATOR, username="ada")
    # Version 1 is already in service, published earlier from a pasted file.
    playbook_publish_source(actor=ada, source=_yaml(clean_playbook()))
    _sign_in(page, "ada")

    # The playbook list: v1 is current and lints clean.
    page.get_by_role("link", name="Playbooks", exact=True).click()
    page.get_by_role("heading", name="Troubleshooting playbooks", level=1).wait_for()
    versions = page.get_by_role("table", name="Versions of Mini")
    first_row = versions.get_by_role("row").nth(1)
    assert "current" in first_row.inner_text()
    assert "lints clean" in first_row.inner_text()

    # Version 1: its linter verdict and its graph, also written out as text.
    versions.get_by_role("link", name="v1").click()
    page.get_by_role("heading", name="Mini v1", level=1).wait_for()
    lint = page.get_by_role("region", name="Linter")
    assert lint.get_by_text("lints clean").is_visible()
    graph = page.get_by_role("region", name="Graph")
    assert graph.locator("svg").count() == 1
    graph.get_by_text("The graph as text").click()
    steps = graph.get_by_role("list", name="Steps")
    assert steps.get_by_role("listitem").first.inner_text() == "Status (Check, status)"
    assert graph.get_by_role("list", name="Branches").get_by_text("ask → fix: No").is_visible()
    # The drawing opens on its start; Zoom in zooms.
    drawing = graph.get_by_role("region", name="Playbook drawing")
    assert _inside(drawing.locator("[data-start]").bounding_box(), drawing.bounding_box())
    before = drawing.locator("svg").get_attribute("viewBox")
    graph.get_by_role("button", name="Zoom in").click()
    assert drawing.locator("svg").get_attribute("viewBox") != before

    # A new version whose answer leads nowhere is refused with the linter's finding.
    page.get_by_role("link", name="← Playbooks").click()
    page.get_by_role("link", name="Publish a new version").click()
    broken = clean_playbook()
    node(broken, "ask")["options"][1]["next"] = "nowhere"
    page.get_by_label("Playbook YAML").fill(_yaml(broken))
    page.get_by_role("button", name="Lint and publish").click()
    refusal = page.get_by_role("alert")
    refusal.get_by_role("heading", name="Not published: 1 problem").wait_for()
    assert "nowhere" in refusal.get_by_role("listitem").inner_text()
    assert "node ask" in refusal.get_by_role("listitem").inner_text()
    # The text stays in the box to be fixed.
    assert "nowhere" in page.get_by_label("Playbook YAML").input_value()

    # The fixed version, uploaded as a file, lints clean and is published as v2.
    fixed = clean_playbook()
    node(fixed, "fix")["title"] = "Turn on notifications for the app"
    page.get_by_label("Playbook YAML").fill("")
    page.get_by_label("Or upload a playbook file").set_input_files(
        files=[{"name": "mini.yaml", "mimeType": "text/yaml", "buffer": _yaml(fixed).encode()}]
    )
    page.get_by_role("button", name="Lint and publish").click()
    page.get_by_role("button", name="Publish version 2").click()  # after its preview
    page.get_by_text("mini v2 published: new sessions start on it.").wait_for()
    page.get_by_role("heading", name="Mini v2", level=1).wait_for()
    assert page.get_by_role("region", name="Linter").get_by_text("lints clean").is_visible()

    # Compare v1 with v2: only wording changed, and the table says where.
    page.get_by_role("link", name="Compare with the version before").click()
    page.get_by_role("heading", name="v1 → v2").wait_for()
    assert page.get_by_text("text only").is_visible()
    changes = page.get_by_role("region", name="Text changes").get_by_role("row")
    assert changes.nth(1).inner_text().split("\t")[1:] == [
        "title",
        "Enable notifications",
        "Turn on notifications for the app",
    ]

    # Retire v2 from its page.
    page.get_by_role("link", name="← Playbooks").click()
    page.get_by_role("table", name="Versions of Mini").get_by_role("link", name="v2").click()
    page.once("dialog", lambda dialog: dialog.accept())  # retiring asks first
    page.get_by_role("button", name="Retire v2").click()
    page.get_by_text("mini v2 retired: new sessions no longer start on it").wait_for()
    assert page.get_by_role("button", name="Retire v2").count() == 0
    # Deleting is refused: a published version is evidence.
    page.get_by_role("button", name="Delete v2").click()
    page.get_by_text("Version 2 cannot be deleted: published versions are kept").wait_for()

    # The audit review tells the story in words, newest first.
    page.get_by_role("link", name="Audit review", exact=True).click()
    page.get_by_role("heading", name="Audit review", level=1).wait_for()
    lines = page.get_by_role("row").filter(has=page.get_by_role("cell", name="Playbook changed"))
    assert [row.inner_text().split("\t")[-1] for row in lines.all()] == [
        "Refused to delete mini v2: Version 2 cannot be deleted: published versions are kept "
        "as evidence even when unused. Retire it to take it out of service.",
        "Retired mini v2",
        "Published mini v2 from mini.yaml",
        "Published mini v1",
    ]
    assert violations == []


def test_a_big_playbook_graph_opens_on_its_start_and_zooms_and_pans(page):
    problems = _watch(page)
    make_staff(Role.ADMINISTRATOR, username="ada")
    playbook_sync_from_files()
    _sign_in(page, "ada")
    url = reverse(
        "troubleshooting:playbook-version", kwargs={"slug": "enrollment_failure", "number": 1}
    )

    page.goto(url)
    page.wait_for_load_state("networkidle")

    drawing = page.get_by_role("region", name="Playbook drawing")
    svg = drawing.locator("svg")
    start = drawing.locator("[data-start]")
    # The first view: the start, at its natural size, not the whole graph shrunk to nothing.
    assert _inside(start.bounding_box(), drawing.bounding_box())
    assert start.bounding_box()["width"] == pytest.approx(NODE_W, abs=2)
    assert int(svg.get_attribute("width")) > drawing.bounding_box()["width"]

    first = svg.get_attribute("viewBox")
    page.get_by_role("button", name="Zoom in").click()
    assert svg.get_attribute("viewBox") != first
    assert start.bounding_box()["width"] > NODE_W * 1.2
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert start.bounding_box()["width"] < NODE_W

    # Fit shows every step; Start comes back to the first view.
    page.get_by_role("button", name="Fit").click()
    steps = drawing.locator("[data-node]")
    assert all(_inside(steps.nth(i).bounding_box(), drawing.bounding_box()) for i in (0, -1))
    page.get_by_role("button", name="Start").click()
    assert svg.get_attribute("viewBox") == first

    # Keyboard and mouse move the view.
    drawing.focus()
    page.keyboard.press("ArrowRight")
    moved = svg.get_attribute("viewBox")
    assert moved != first
    box = drawing.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 100, box["y"] + 120, steps=4)
    page.mouse.up()
    assert svg.get_attribute("viewBox") != moved

    assert _axe(page) == []
    assert problems == []


def test_a_playbook_graph_scrolls_in_its_box_without_javascript(browser, live_server):
    make_staff(Role.ADMINISTRATOR, username="ada")
    playbook_sync_from_files()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, "ada")
        page.goto(
            reverse(
                "troubleshooting:playbook-version",
                kwargs={"slug": "enrollment_failure", "number": 1},
            )
        )

        drawing = page.get_by_role("region", name="Playbook drawing")
        assert drawing.locator("svg").get_attribute("viewBox").startswith("0 0 ")
        assert page.get_by_role("button", name="Zoom in").count() == 0
        assert drawing.evaluate("el => el.scrollWidth > el.clientWidth")
    finally:
        context.close()
