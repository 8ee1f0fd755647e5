"""render_svg: a laid-out graph as inline SVG markup. Every piece of playbook text is escaped
before it enters the markup; styling is by class, never inline."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from troubleshooting.graph.model import (
    LABEL_CHARS,
    LABEL_H,
    LOOP_W,
    NODE_H,
    NODE_W,
    TITLE_CHARS,
    EdgeRoute,
    Graph,
    GraphNode,
    short,
)


def _shape(node: GraphNode) -> str:
    x, y = node.x, node.y
    if node.kind in ("decide", "question"):
        inset = 16
        points = (
            f"{x + inset},{y} {x + NODE_W - inset},{y} {x + NODE_W},{y + NODE_H // 2} "
            f"{x + NODE_W - inset},{y + NODE_H} {x + inset},{y + NODE_H} {x},{y + NODE_H // 2}"
        )
        return f'<polygon class="pb-shape" points="{points}"/>'
    radius = NODE_H // 2 if node.kind == "end" else 6
    return (
        f'<rect class="pb-shape" x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{radius}"/>'
    )


def _path(route: EdgeRoute, graph: Graph) -> str:
    if route.loop:
        node = graph.node(route.source)
        x, y = node.x + NODE_W, node.y + NODE_H // 2
        return f"M{x},{y - 10} C{x + LOOP_W},{y - 30} {x + LOOP_W},{y + 30} {x},{y + 10}"
    points = route.points
    parts = [f"M{points[0][0]},{points[0][1]}"]
    for i in range(1, len(points)):
        (x1, y1), (x2, y2) = points[i - 1], points[i]
        if i % 2:  # across a gap: a curve leaving and arriving upright
            middle = (y1 + y2) // 2
            parts.append(f"C{x1},{middle} {x2},{middle} {x2},{y2}")
        else:  # inside a layer: straight down beside the boxes
            parts.append(f"L{x2},{y2}")
    return " ".join(parts)


def _edge(graph: Graph, route: EdgeRoute) -> str:
    upward = " pb-edge-up" if route.upward else ""
    return (
        f'<g class="pb-edge"><title>{_edge_title(route)}</title>'
        f'<path class="pb-edge-line{upward}" d="{_path(route, graph)}" '
        f'marker-end="url(#pb-arrow)"/></g>'
    )


def _edge_title(route: EdgeRoute) -> str:
    return escape(f"{route.source} → {route.target}: {route.label}")


def _edge_label(route: EdgeRoute) -> str:
    box = route.label_box
    return (
        f'<text class="pb-edge-label" x="{box.x + box.w // 2}" y="{box.y + LABEL_H - 4}" '
        f'text-anchor="middle"><title>{_edge_title(route)}</title>'
        f"{escape(short(route.label, LABEL_CHARS))}</text>"
    )


def render_svg(graph: Graph) -> SafeString:
    """The graph as an inline <svg> element. Every text from the playbook is escaped."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pb-graph" role="img" '
        f'aria-labelledby="pb-graph-title" viewBox="0 0 {graph.width} {graph.height}" '
        f'width="{graph.width}" height="{graph.height}">',
        f'<title id="pb-graph-title">{escape(graph.title)}: {len(graph.nodes)} steps, '
        f"{len(graph.edges)} branches</title>",
        '<defs><marker id="pb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="pb-arrow" '
        'd="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    # Lines, then their labels over every line, then the boxes (which no label reaches).
    parts += [_edge(graph, route) for route in graph.routes]
    parts.append('<g class="pb-edge-labels">')
    parts += [_edge_label(route) for route in graph.routes]
    parts.append("</g>")
    for node in graph.nodes:
        unreachable = " pb-unreachable" if node.depth is None else ""
        start = " data-start" if node.id == graph.start else ""
        parts.append(
            f'<g class="pb-node pb-node-{escape(node.kind)}{unreachable}" '
            f'data-node="{escape(node.id)}"{start}>'
            f"<title>{escape(node.kind_label)}: {escape(node.title)} ({escape(node.id)})</title>"
            f"{_shape(node)}"
            f'<text class="pb-node-title" x="{node.x + NODE_W // 2}" y="{node.y + 22}" '
            f'text-anchor="middle">{escape(short(node.title, TITLE_CHARS))}</text>'
            f'<text class="pb-node-kind" x="{node.x + NODE_W // 2}" y="{node.y + 39}" '
            f'text-anchor="middle">{escape(node.kind_label)} · {escape(node.id)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
