"""Knowledge-base articles: the files, sanitized rendering, search, the pages, and the
links from playbook nodes (the linter and the wizard card)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.troubleshooting.playbook_helpers import clean_playbook, codes, lint_dict, node
from troubleshooting import kb
from troubleshooting.lint import playbook_files
from troubleshooting.schema import load_playbook

HTMX = {"HTTP_HX_REQUEST": "true"}

# The articles other documents and playbooks link to by slug.
REQUIRED_SLUGS = {
    "enrollment-troubleshooting-guide",
    "first-login-experience",
    "device-registration-process",
    "authentication-prompt-issues",
    "troubleshooting-login-failures",
    "policy-configuration",
    "enrollment-problems",
    "prompt-problems",
    "code-problems",
    "access-problems",
    "push-troubleshooting",
    "qr-code-scanning",
    "clock-and-time-settings",
    "sms-and-voice-codes",
    "email-codes",
    "hardware-tokens-and-security-keys",
    "bypass-codes",
    "lost-or-stolen-device",
    "locked-out-users",
    "offline-passcodes-when-travelling",
    "suspicious-enrollment-email",
    "activation-links",
}


def write(directory: Path, slug: str, text: str) -> Path:
    path = directory / f"{slug}.md"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "---\ntitle: Test article\nsummary: A summary.\ntags: [push]\n---\n"


def test_kb_every_required_article_exists_and_parses():
    articles = kb.articles()

    assert REQUIRED_SLUGS <= set(articles)
    for article in articles.values():
        assert article.title
        assert article.summary
        assert article.html


def test_kb_every_slug_linked_by_a_shipped_playbook_has_an_article():
    linked = {slug for path in playbook_files() for n in load_playbook(path).nodes for slug in n.kb}

    assert linked  # the shipped playbooks do link articles
    assert linked - set(kb.articles()) == set()


def test_kb_rendering_strips_scripts_handlers_and_javascript_links(tmp_path):
    body = (
        "Hello <script>alert('x')</script> **bold**\n\n"
        '<a href="/ok" onclick="steal()">ok</a> [bad](javascript:alert(1))\n\n'
        '<p style="color:red">styled</p><iframe src="https://example.com"></iframe>\n'
    )
    article = kb.parse_article(write(tmp_path, "unsafe", GOOD + body))

    assert "<script" not in article.html
    assert "alert(" not in article.html
    assert "onclick" not in article.html
    assert "javascript:" not in article.html
    assert "style=" not in article.html
    assert "<iframe" not in article.html
    assert "<strong>bold</strong>" in article.html
    assert '<a href="/ok" rel="noopener noreferrer">ok</a>' in article.html


def test_kb_markdown_tables_and_lists_render(tmp_path):
    body = "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    article = kb.parse_article(write(tmp_path, "table", GOOD + body))

    assert "<li>one</li>" in article.html
    assert "<td>1</td>" in article.html


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("no front matter\n", "", "expected front matter between --- lines at the top"),
        ("---\nsummary: s\ntags: [a]\n---\nbody\n", "title", "expected a non-empty text"),
        ("---\ntitle: t\nsummary: s\ntags: push\n---\nbody\n", "tags", "expected a list"),
        ("---\ntitle: t\nsummary: s\ntags: [a]\nauthor: me\n---\nbody\n", "author", "unknown"),
        ("---\ntitle: t\nsummary: s\ntags: [a]\n---\n\n", "", "the article has no body"),
    ],
)
def test_kb_bad_file_names_file_and_key(tmp_path, text, key, message):
    path = write(tmp_path, "broken", text)

    with pytest.raises(kb.KbFileError) as caught:
        kb.parse_article(path)

    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_kb_search_finds_by_body_text_only(tmp_path):
    write(tmp_path, "alpha", GOOD.replace("Test article", "Alpha") + "Toggle airplane mode.\n")
    write(tmp_path, "beta", GOOD.replace("Test article", "Beta") + "Nothing here.\n")

    found = kb.article_list("AIRPLANE mode", directory=tmp_path)

    assert [article.slug for article in found] == ["alpha"]
    assert [a.slug for a in kb.article_list("", directory=tmp_path)] == ["alpha", "beta"]
    assert kb.article_list("airplane nothing", directory=tmp_path) == []


def test_kb_shipped_search_by_body_text():
    slugs = [article.slug for article in kb.article_list("airplane")]

    assert "push-troubleshooting" in slugs
    assert "bypass-codes" not in slugs


def test_lint_kb_slug_without_article_is_an_error():
    data = clean_playbook()
    node(data, "ask")["kb"] = ["push-troubleshooting", "no-such-article"]

    [finding] = lint_dict(data)
    assert codes([finding]) == [("ask", "unknown-kb")]
    assert finding.message == "kb links no-such-article, which has no article"


def test_lint_kb_slug_with_article_is_clean():
    data = clean_playbook()
    node(data, "ask")["kb"] = ["push-troubleshooting"]

    assert lint_dict(data) == []


# --- Pages -----------------------------------------------------------------------------------


@pytest.fixture
def reader(client_for):
    return client_for(make_staff(Role.READ_ONLY, username="rita.reader"))


@pytest.mark.django_db
def test_kb_list_shows_every_article(reader):
    response = reader.get(reverse("kb:list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"All articles ({len(kb.articles())})" in html
    assert reverse("kb:article", kwargs={"slug": "lost-or-stolen-device"}) in html


@pytest.mark.django_db
def test_kb_search_with_htmx_returns_the_results_partial(reader):
    response = reader.get(reverse("kb:list"), {"q": "airplane"}, **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="kb-results"')
    assert "<html" not in html
    assert "Push troubleshooting" in html
    assert "Bypass codes" not in html


@pytest.mark.django_db
def test_kb_search_without_match_says_so(reader):
    response = reader.get(reverse("kb:list"), {"q": "zebra-crossing"})

    assert "No article mentions every word of your search." in response.content.decode()


@pytest.mark.django_db
def test_kb_article_page_renders_sanitized_markdown(reader):
    response = reader.get(reverse("kb:article", kwargs={"slug": "push-troubleshooting"}))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="kb-article-title">Push troubleshooting</h1>' in html
    assert "<h2>What the caller can do (in this order)</h2>" in html


@pytest.mark.django_db
def test_kb_unknown_slug_is_404(reader):
    response = reader.get(reverse("kb:article", kwargs={"slug": "no-such-article"}))

    assert response.status_code == 404


@pytest.mark.django_db
def test_kb_pages_do_not_query_per_article(reader, django_assert_num_queries):
    reader.get(reverse("kb:list"))  # warm the session
    # Session, staff member and the page chrome only: the articles come from the files.
    with django_assert_num_queries(6):
        reader.get(reverse("kb:list"))
    with django_assert_num_queries(6):
        reader.get(reverse("kb:list"), {"q": "code"})


@pytest.mark.django_db
def test_kb_link_in_the_navigation(reader):
    response = reader.get(reverse("helpdesk:home"))

    assert f'href="{reverse("kb:list")}"' in response.content.decode()


def test_kb_links_between_articles_name_existing_articles():
    linked = {
        slug
        for article in kb.articles().values()
        for slug in re.findall(r"\(/kb/([a-z0-9-]+)/\)", article.body)
    }

    assert linked  # the articles refer to each other
    assert linked - set(kb.articles()) == set()
    html = kb.article_get("authentication-prompt-issues").html
    assert '<a href="/kb/push-troubleshooting/" rel="noopener noreferrer">' in html


@pytest.mark.parametrize("slug", sorted(REQUIRED_SLUGS))
def test_kb_article_covers_what_level_1_needs(slug):
    body = kb.article_get(slug).body

    for heading in ("Symptoms", "What to check", "What to tell the caller", "When to escalate"):
        assert re.search(rf"^#+ {heading}$", body, re.MULTILINE), f"{slug}: no {heading}"
