"""Knowledge-base articles: Markdown files in troubleshooting/kb/<slug>.md.

Each file starts with a small YAML front matter between `---` lines:

    ---
    title: Push troubleshooting
    summary: One or two sentences for the list and the search results.
    tags: [push, prompt]
    ---
    The body, in Markdown.

Articles are read once per process and kept (they ship with the code, like playbooks); the
Markdown is rendered to HTML and then sanitized with nh3, so an article can never carry a
script, an event handler or a style into a page served under the Content-Security-Policy.
A file that cannot be read or lacks a key raises KbFileError naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
import nh3

from helpdesk.yaml_files import YamlFileError, load_yaml_text, read_yaml_text

KB_DIR = Path(__file__).resolve().parent / "kb"
# An article file is a page of text; anything larger is a mistake.
KB_MAX_BYTES = 200_000

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
REQUIRED_KEYS: tuple[str, ...] = ("title", "summary", "tags")
ALLOWED_KEYS = frozenset(REQUIRED_KEYS)

# What rendered Markdown may contain: text structure, links, tables, code. Nothing active.
_TAGS = {
    "h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "br",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


class KbFileError(Exception):
    """An article file could not be read or does not match the format."""

    def __init__(self, file: Path | str, key: str, message: str):
        self.file = str(file)
        self.key = key
        where = f"key {key}: " if key else ""
        super().__init__(f"{self.file}: {where}{message}")


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    summary: str
    tags: tuple[str, ...]
    body: str  # Markdown source
    html: str  # rendered and sanitized

    def matches(self, terms: list[str]) -> bool:
        """True when every term occurs in the title, summary, tags or body (any case)."""
        haystack = self.haystack
        return all(term in haystack for term in terms)

    @property
    def haystack(self) -> str:
        return " ".join((self.title, self.summary, " ".join(self.tags), self.body)).casefold()


def render_markdown(text: str) -> str:
    """Markdown to HTML, sanitized: scripts, styles, event handlers and unknown tags go."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def parse_article(path: Path) -> Article:
    """Reads one article file. Raises KbFileError naming the file and the key."""
    slug = path.stem
    if not SLUG_RE.match(slug):
        raise KbFileError(path, "", "the file name must be a slug (lowercase words and dashes)")
    try:
        text = read_yaml_text(path, max_bytes=KB_MAX_BYTES)
    except YamlFileError as exc:
        raise KbFileError(path, "", exc.message) from None
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise KbFileError(path, "", "expected front matter between --- lines at the top")
    try:
        meta = load_yaml_text(match["meta"], source=str(path))
    except YamlFileError as exc:
        where = f"front matter, {exc.location}: " if exc.location else "front matter: "
        raise KbFileError(path, "", where + exc.message) from None
    if not isinstance(meta, dict):
        raise KbFileError(path, "", "the front matter must be a mapping of title, summary, tags")
    for key in sorted(set(meta) - ALLOWED_KEYS):
        raise KbFileError(path, str(key), "unknown key; expected title, summary and tags")
    for key in ("title", "summary"):
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            raise KbFileError(path, key, "expected a non-empty text")
    tags = meta.get("tags")
    if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
        raise KbFileError(path, "tags", "expected a list of words, e.g. [push, prompt]")
    body = match["body"].strip()
    if not body:
        raise KbFileError(path, "", "the article has no body")
    return Article(
        slug=slug,
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        tags=tuple(tags),
        body=body,
        html=render_markdown(body),
    )


@lru_cache(maxsize=8)
def _load(directory: str) -> dict[str, Article]:
    articles = {}
    for path in sorted(Path(directory).glob("*.md")):
        article = parse_article(path)
        articles[article.slug] = article
    return articles


def articles(directory: Path | str | None = None) -> dict[str, Article]:
    """Every article by slug (parsed once per process). Raises KbFileError on a bad file."""
    return _load(str(directory or KB_DIR))


def clear_cache() -> None:
    _load.cache_clear()


def article_get(slug: str, directory: Path | str | None = None) -> Article | None:
    return articles(directory).get(slug)


def article_list(query: str = "", directory: Path | str | None = None) -> list[Article]:
    """The articles by title; with a query, those containing every word of it in the title,
    summary, tags or body."""
    terms = [term.casefold() for term in query.split()]
    found = [a for a in articles(directory).values() if not terms or a.matches(terms)]
    return sorted(found, key=lambda article: article.title.casefold())


def article_titles(slugs: list[str]) -> list[tuple[str, str | None]]:
    """(slug, title) for a node's `kb:` links; the title is None for a slug with no article."""
    known = articles()
    return [(slug, known[slug].title if slug in known else None) for slug in slugs]
