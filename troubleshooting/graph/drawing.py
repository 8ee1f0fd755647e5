"""A version's drawing, laid out once per content and kept in Django's cache.

Laying out the largest playbooks takes 30 to 150 ms, on every view of a version page. A published
version never changes, and its content hash (the sha256 of its canonical definition, see
troubleshooting.services.content_hash) changes with any change of meaning, so the graph and
its SVG are kept under that hash and LAYOUT_VERSION: versions with the same content, in any
playbook, share one entry, and a new content gets a new drawing. While Redis is unreachable
the cache misses and skips writes (helpdesk.cache), so the drawing is computed each time:
slower, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.utils.safestring import SafeString

from troubleshooting.graph.draw import render_svg
from troubleshooting.graph.layout import build_graph
from troubleshooting.graph.model import Graph
from troubleshooting.schema import PlaybookDefinition

# Part of every key. Bump it whenever the layout, the drawing or the classes in model.py
# change (the cache holds them pickled): entries made by the old code are then never read,
# and expire on their own.
LAYOUT_VERSION = 1
# An entry is never stale (its content cannot change); the timeout only lets drawings of
# versions nobody opens any more leave the cache.
CACHE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Drawing:
    graph: Graph  # for the page's text alternative (steps and branches)
    svg: SafeString


def playbook_drawing(definition: PlaybookDefinition, *, content_hash: str) -> Drawing:
    """The graph and SVG of `definition`, the definition of a version whose content_hash is
    `content_hash`. Reads Django's cache and, on a miss, lays the graph out and writes it
    there."""
    key = f"troubleshooting:graph:{LAYOUT_VERSION}:{content_hash}"
    found = cache.get(key)
    if isinstance(found, Drawing):
        return found
    graph = build_graph(definition)
    drawing = Drawing(graph, render_svg(graph))
    cache.set(key, drawing, CACHE_SECONDS)
    return drawing
