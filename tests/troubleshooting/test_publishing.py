import pytest
import yaml
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.enums import Category, Channel, EventKind
from helpdesk.models import TicketEvent
from helpdesk.services.tickets import ticket_open
from tests.factories import EndUserFactory
from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.models import PlaybookVersion
from troubleshooting.publishing import (
    playbook_publish_from_disk,
    playbook_publish_source,
    playbook_version_delete,
    playbook_version_retire,
)
from troubleshooting.schema import parse_playbook
from troubleshooting.services import playbook_version_publish
from troubleshooting.sessions import session_start

pytestmark = pytest.mark.django_db

PUBLISH_URL = reverse("troubleshooting:playbook-publish")
LIST_URL = reverse("troubleshooting:playbook-list")


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def _events(action: str | None = None):
    events = TicketEvent.objects.filter(stream="admin", kind=EventKind.PLAYBOOK_CHANGED)
    if action:
        events = events.filter(payload__action=action)
    return events.order_by("seq")


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _version_url(name: str, version: PlaybookVersion) -> str:
    return reverse(
        f"troubleshooting:{name}",
        kwargs={"slug": version.playbook.slug, "number": version.number},
    )


def _confirmation(preview_response) -> dict:
    """What the preview's "Publish version N" button sends back."""
    return dict(preview_response.context["confirm"].initial)


def _used_version(owner) -> PlaybookVersion:
    """A missing-prompt playbook, published, with one session started on it."""
    playbook_publish_source(actor=owner, source=_yaml(clean_playbook()))
    ticket = ticket_open(
        actor=owner,
        end_user=EndUserFactory(username="pub.caller"),
        subject="No prompt",
        category=Category.MISSING_PROMPT,
        channel=Channel.PHONE,
    )
    return session_start(actor=owner, ticket=ticket).version


# --- Publishing ----------------------------------------------------------------------------------


def test_publish_refused_when_lint_fails_rerenders_every_finding_and_keeps_the_text(
    client_for, administrator
):
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "nowhere"
    node(data, "status")["check"] = "no_such_check"
    source = _yaml(data)

    response = client_for(administrator).post(PUBLISH_URL, {"source": source})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Not published: 2 problems" in body
    assert "[unknown-target]" in body
    assert "[unknown-check]" in body
    assert "<strong>node ask</strong>" in body
    assert "no_such_check" in body
    assert "nowhere" in body
    assert response.context["form"]["source"].value() == source
    assert PlaybookVersion.objects.count() == 0
    assert _events().count() == 0


def test_publish_refused_for_text_that_is_not_a_playbook(client_for, administrator):
    response = client_for(administrator).post(PUBLISH_URL, {"source": "id: [unclosed\n"})

    assert response.status_code == 200
    assert "expected valid YAML" in response.content.decode()
    assert PlaybookVersion.objects.count() == 0


def test_publish_without_text_or_file_rerenders_with_a_message(client_for, administrator):
    response = client_for(administrator).post(PUBLISH_URL, {"source": "  "})

    assert response.status_code == 200
    assert "Paste the playbook&#x27;s YAML or upload its file." in response.content.decode()


def test_publish_creates_the_next_version_retires_the_current_and_records_an_event(
    client_for, administrator
):
    first = playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))
    data = clean_playbook()
    node(data, "ask")["title"] = "Are notifications allowed on the phone?"

    client = client_for(administrator)
    preview = client.post(PUBLISH_URL, {"source": _yaml(data)})
    assert PlaybookVersion.objects.count() == 1  # the preview publishes nothing
    response = client.post(PUBLISH_URL, _confirmation(preview))

    v1, v2 = PlaybookVersion.objects.order_by("number")
    assert response.status_code == 302
    assert response["Location"] == _version_url("playbook-version", v2)
    assert (first.version.pk, v2.number) == (v1.pk, 2)
    assert v1.retired_at is not None
    assert v2.retired_at is None
    assert v2.published_by == administrator
    assert v2.source == _yaml(data)
    assert [(e.payload["action"], e.payload["version"]) for e in _events()] == [
        ("published", 1),
        ("published", 2),
    ]
    event = _events().last()
    assert event.actor == administrator
    assert event.payload["by"] == administrator.username
    assert event.payload["playbook"] == "mini"
    assert event.payload["content_hash"] == v2.content_hash


def test_publish_an_uploaded_file(client_for, administrator):
    upload = SimpleUploadedFile("mini.yaml", _yaml(clean_playbook()).encode("utf-8"))

    client = client_for(administrator)
    preview = client.post(PUBLISH_URL, {"source": "", "upload": upload})
    response = client.post(PUBLISH_URL, _confirmation(preview))

    version = PlaybookVersion.objects.get()
    assert response.status_code == 302
    assert (version.number, version.source_file) == (1, "mini.yaml")
    assert _events("published").get().payload["source_file"] == "mini.yaml"


def test_publish_an_upload_that_does_not_lint_keeps_its_text_in_the_box(client_for, administrator):
    data = clean_playbook()
    node(data, "fix")["done"] = "nowhere"
    upload = SimpleUploadedFile("mini.yaml", _yaml(data).encode("utf-8"))

    response = client_for(administrator).post(PUBLISH_URL, {"upload": upload})

    assert response.status_code == 200
    assert response.context["form"]["source"].value() == _yaml(data)
    assert "[unknown-target]" in response.content.decode()
    assert PlaybookVersion.objects.count() == 0


def test_publish_unchanged_content_publishes_nothing(client_for, administrator):
    playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))

    response = client_for(administrator).post(
        PUBLISH_URL, {"source": "# reviewed\n" + _yaml(clean_playbook())}
    )

    assert response.status_code == 200
    assert "Nothing to publish: version 1 of Mini already has this content." in (
        response.content.decode()
    )
    assert "confirm" not in response.context  # no button to publish it
    assert PlaybookVersion.objects.count() == 1
    assert _events().count() == 1


def test_publish_shows_a_preview_with_the_lint_verdict_and_the_diff_first(
    client_for, administrator
):
    playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))
    data = clean_playbook()
    node(data, "fix")["title"] = "Turn on notifications for the app"

    response = client_for(administrator).post(PUBLISH_URL, {"source": _yaml(data)})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Preview: Mini version 2" in body
    assert '<span class="badge badge-ok">lints clean</span>' in body
    assert "Publishing retires version 1; sessions already on it carry on." in body
    assert "v1 → v2 (the text you entered)" in body
    assert [(c.key, c.old, c.new) for c in response.context["preview"].diff.text] == [
        ("title", "Enable notifications", "Turn on notifications for the app")
    ]
    added = [line for line in response.context["preview"].source_lines if line[:1] == "+"]
    assert added[0] == "+++ this text"
    assert "title: Turn on notifications for the app" in added[1]  # the source diff
    assert '<span class="pb-added">+++ this text</span>' in body
    assert '<button type="submit" class="button primary">Publish version 2</button>' in body
    assert response.context["form"]["source"].value() == _yaml(data)  # still editable
    assert PlaybookVersion.objects.count() == 1
    assert _events().count() == 1


def test_publish_preview_of_a_new_playbook_says_it_becomes_version_1(client_for, administrator):
    response = client_for(administrator).post(PUBLISH_URL, {"source": _yaml(clean_playbook())})

    body = response.content.decode()
    assert "Preview: Mini version 1" in body
    assert "A new playbook: this text becomes its version 1." in body
    assert "Publish version 1</button>" in body


def test_publish_confirmation_with_a_changed_text_publishes_nothing(client_for, administrator):
    client = client_for(administrator)
    preview = client.post(PUBLISH_URL, {"source": _yaml(clean_playbook())})
    changed = clean_playbook()
    node(changed, "fix")["title"] = "Something else"
    confirmation = _confirmation(preview) | {"source": _yaml(changed)}

    response = client.post(PUBLISH_URL, confirmation)

    assert response.status_code == 200
    assert "The text changed after the preview, so nothing was published." in (
        response.content.decode()
    )
    assert "Publish version 1</button>" in response.content.decode()  # previewed again
    assert PlaybookVersion.objects.count() == 0


def test_publish_confirmation_after_someone_else_published_publishes_nothing(
    client_for, administrator, owner
):
    client = client_for(administrator)
    preview = client.post(PUBLISH_URL, {"source": _yaml(clean_playbook())})
    other = clean_playbook()
    node(other, "fix")["title"] = "Published by someone else"
    playbook_publish_source(actor=owner, source=_yaml(other))

    response = client.post(PUBLISH_URL, _confirmation(preview))

    body = response.content.decode()
    assert "mini v1 was published after your preview, so nothing was published." in body
    assert "Preview: Mini version 2" in body
    assert PlaybookVersion.objects.get().source == _yaml(other)


def test_publish_confirmation_carries_windows_line_ends_as_the_preview_read_them(
    client_for, administrator
):
    """Browsers send hidden and textarea values with CRLF; an uploaded file has LF."""
    upload = SimpleUploadedFile("mini.yaml", _yaml(clean_playbook()).encode("utf-8"))
    client = client_for(administrator)
    preview = client.post(PUBLISH_URL, {"upload": upload})
    confirmation = _confirmation(preview)
    confirmation["source"] = confirmation["source"].replace("\n", "\r\n")

    response = client.post(PUBLISH_URL, confirmation)

    assert response.status_code == 302
    assert PlaybookVersion.objects.get().source == _yaml(clean_playbook())


def test_retire_and_publishing_from_disk_ask_for_confirmation(client_for, administrator):
    version = playbook_publish_source(actor=administrator, source=_yaml(clean_playbook())).version
    client = client_for(administrator)

    version_page = client.get(_version_url("playbook-version", version)).content.decode()
    list_page = client.get(LIST_URL).content.decode()

    assert (
        'data-confirm="Retire version 1 of Mini? New sessions will no longer start on it, and '
        'until a new version is published this playbook has none current."'
    ) in version_page
    assert 'data-confirm="Publish every changed playbook file on disk?' in list_page


def test_publish_service_refuses_a_supervisor(supervisor):
    with pytest.raises(PermissionDenied):
        playbook_publish_source(actor=supervisor, source=_yaml(clean_playbook()))


def test_publish_from_disk_records_an_event_per_version_published(tmp_path, administrator):
    # Files of its own: the shipped directory may change under a running test suite.
    second = clean_playbook()
    second["id"] = "mini_b"
    (tmp_path / "mini.yaml").write_text(_yaml(clean_playbook()), encoding="utf-8")
    (tmp_path / "mini_b.yaml").write_text(_yaml(second), encoding="utf-8")

    results = playbook_publish_from_disk(actor=administrator, paths=[tmp_path])

    assert [r.status for r in results] == ["published", "published"]
    second["version_notes"] = "Changed."
    (tmp_path / "mini_b.yaml").write_text(_yaml(second), encoding="utf-8")

    results = playbook_publish_from_disk(actor=administrator, paths=[tmp_path])

    assert [r.status for r in results] == ["unchanged", "published"]
    assert [(e.payload["playbook"], e.payload["version"]) for e in _events("published")] == [
        ("mini", 1),
        ("mini_b", 1),
        ("mini_b", 2),
    ]
    assert PlaybookVersion.objects.filter(published_by=administrator).count() == 3


# --- Retiring and deleting -----------------------------------------------------------------------


def test_retire_a_version_records_an_event_and_refuses_twice(client_for, administrator):
    result = playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))
    client = client_for(administrator)

    response = client.post(_version_url("playbook-retire", result.version))

    version = PlaybookVersion.objects.get()
    assert response.status_code == 302
    assert version.retired_at is not None
    assert _events("retired").get().payload["version"] == 1

    response = client.post(_version_url("playbook-retire", result.version))

    assert _messages(response)[-1] == "Version 1 is already retired."
    assert _events("retired").count() == 1


def test_delete_refused_when_a_session_used_the_version(client_for, owner, administrator):
    version = _used_version(owner)

    response = client_for(administrator).post(_version_url("playbook-delete", version))

    assert response.status_code == 302
    assert response["Location"] == _version_url("playbook-version", version)
    [message] = _messages(response)
    assert message == (
        f"Version {version.number} cannot be deleted: 1 guided session(s) used it, and they "
        "must keep reading the steps they followed. Retire it instead."
    )
    assert PlaybookVersion.objects.filter(pk=version.pk).exists()
    event = _events("delete_refused").get()
    assert event.payload["reason"] == message


def test_delete_refused_for_an_unused_retired_version_too(administrator):
    playbook_publish_source(actor=administrator, source=_yaml(clean_playbook()))
    data = clean_playbook()
    data["version_notes"] = "Second."
    playbook_publish_source(actor=administrator, source=_yaml(data))
    v1 = PlaybookVersion.objects.get(number=1)
    assert v1.retired_at is not None

    with pytest.raises(ValidationError, match="kept as evidence even when unused"):
        playbook_version_delete(actor=administrator, version=v1)

    assert PlaybookVersion.objects.count() == 2
    assert _events("delete_refused").count() == 1


def test_retire_service_refuses_an_auditor(administrator, auditor):
    version = playbook_publish_source(actor=administrator, source=_yaml(clean_playbook())).version

    with pytest.raises(PermissionDenied):
        playbook_version_retire(actor=auditor, version=version)

    assert PlaybookVersion.objects.get().retired_at is None


# --- Reading -------------------------------------------------------------------------------------


def _publish_playbook(actor, playbook_id: str, versions: int = 1) -> None:
    for number in range(versions):
        data = clean_playbook()
        data["id"] = playbook_id
        data["version_notes"] = f"revision {number}"
        playbook_publish_source(actor=actor, source=_yaml(data))


def test_list_query_count_is_the_same_for_one_and_several_playbooks(
    client_for, administrator, django_assert_num_queries
):
    client = client_for(administrator)
    _publish_playbook(administrator, "mini")
    client.get(LIST_URL)  # warm the session

    with django_assert_num_queries(9):
        response = client.get(LIST_URL)
    assert response.status_code == 200

    _publish_playbook(administrator, "mini_b", versions=2)
    _publish_playbook(administrator, "mini_c", versions=3)
    with django_assert_num_queries(9):
        response = client.get(LIST_URL)

    body = response.content.decode()
    assert (
        body.count("<tr>") == 1 + 3 + 3 * 1 + 0
        or body.count('href="/guide/playbooks/mini_c/v') == 3
    )


def test_list_shows_versions_sessions_and_findings(client_for, owner, supervisor):
    version = _used_version(owner)
    broken = clean_playbook()
    broken["id"] = "broken"
    node(broken, "status")["check"] = "no_such_check"
    playbook_version_publish(definition=parse_playbook(broken), source=_yaml(broken))

    response = client_for(supervisor).get(LIST_URL)

    rows = {row.playbook.slug: row for row in response.context["rows"]}
    assert [v.sessions for v in rows[version.playbook.slug].versions] == [1]
    assert rows[version.playbook.slug].versions[0].findings == []
    assert [f.code for f in rows["broken"].versions[0].findings] == ["unknown-check"]
    body = response.content.decode()
    assert version.content_hash[:12] in body
    assert "[unknown-check]" in body
    assert "Publish a new version" not in body  # a supervisor reads only


def test_version_page_shows_the_graph_and_its_text_alternative(client_for, administrator):
    version = playbook_publish_source(actor=administrator, source=_yaml(clean_playbook())).version

    response = client_for(administrator).get(_version_url("playbook-version", version))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="pb-graph" role="img"' in body
    assert "<li>verify → esc: after 2 visits</li>" in body
    assert "<strong>Enable notifications</strong> (Instruction, fix)" in body
    assert "lints clean" in body


def test_diff_page_separates_text_from_routing(client_for, administrator):
    _publish_playbook(administrator, "mini")
    data = clean_playbook()
    node(data, "ask")["prompt"] = "Ask about notifications."
    playbook_publish_source(actor=administrator, source=_yaml(data))
    data = clean_playbook()
    node(data, "ask")["options"][0]["next"] = "fix"
    playbook_publish_source(actor=administrator, source=_yaml(data))
    client = client_for(administrator)
    url = reverse("troubleshooting:playbook-diff", kwargs={"slug": "mini"})

    text_only = client.get(url, {"old": 1, "new": 2})
    routing = client.get(url, {"old": 1, "new": 3})

    assert text_only.context["diff"].is_text_only is True
    assert "text only" in text_only.content.decode()
    assert '<span class="pb-added">+  prompt: Ask about notifications.</span>' in (
        text_only.content.decode()
    )
    assert [c.key for c in routing.context["diff"].routing] == ["options[yes].next"]
    assert "routing changed" in routing.content.decode()


def test_diff_htmx_request_gets_the_result_fragment(client_for, administrator):
    _publish_playbook(administrator, "mini", versions=2)

    response = client_for(administrator).get(
        reverse("troubleshooting:playbook-diff", kwargs={"slug": "mini"}),
        {"old": 1, "new": 2},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="diff-result"')
    assert "<html" not in body


def test_diff_with_a_version_that_does_not_exist_says_so(client_for, administrator):
    _publish_playbook(administrator, "mini")

    response = client_for(administrator).get(
        reverse("troubleshooting:playbook-diff", kwargs={"slug": "mini"}), {"old": 1, "new": 9}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert "diff" not in response.context


def test_navigation_offers_playbooks_to_readers_only(client_for, supervisor, technician):
    home = reverse("helpdesk:home")

    supervisor_page = client_for(supervisor).get(home).content.decode()
    technician_page = client_for(technician).get(home).content.decode()

    assert f'href="{LIST_URL}"' in supervisor_page
    assert f'href="{LIST_URL}"' not in technician_page


def test_version_page_links_to_the_comparison_with_a_neighbour(client_for, administrator):
    _publish_playbook(administrator, "mini", versions=2)
    client = client_for(administrator)
    diff_url = reverse("troubleshooting:playbook-diff", kwargs={"slug": "mini"})

    first = client.get(reverse("troubleshooting:playbook-version", args=["mini", 1]))
    second = client.get(reverse("troubleshooting:playbook-version", args=["mini", 2]))

    assert f'href="{diff_url}?old=1&amp;new=2">Compare with the next version' in (
        first.content.decode()
    )
    assert f'href="{diff_url}?old=1&amp;new=2">Compare with the version before' in (
        second.content.decode()
    )


def test_publish_refused_when_it_closes_a_subflow_circle_with_a_published_playbook(administrator):
    # "other" (published without the linter, as an older release might have been) calls "mini".
    other = clean_playbook()
    other["id"] = "other"
    node(other, "ask")["options"][0]["next"] = "sub"
    other["nodes"].append(
        {"id": "sub", "kind": "subflow", "title": "Mini", "playbook": "mini", "otherwise": "esc"}
    )
    playbook_version_publish(definition=parse_playbook(other), source=_yaml(other))
    mini = clean_playbook()
    node(mini, "ask")["options"][0]["next"] = "sub"
    mini["nodes"].append(
        {"id": "sub", "kind": "subflow", "title": "Other", "playbook": "other", "otherwise": "esc"}
    )

    result = playbook_publish_source(actor=administrator, source=_yaml(mini))

    assert result.published is False
    assert [f.code for f in result.findings if f.code == "subflow-cycle"] == ["subflow-cycle"]
    assert not PlaybookVersion.objects.filter(playbook__slug="mini").exists()
