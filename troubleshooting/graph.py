"""A read-only picture of a playbook version: its nodes and edges, laid out in layers by their
breadth-first depth from the start node, drawn as SVG on the server.

Every piece of playbook text is escaped before it enters the markup. Styling is by class
(`pb-node-<kind>`, `pb-edge`, in static/css/app.css), never inline. Each node carries a
<title> (its kind, title and id) and the page lists nodes and edges as text beside the
picture, for people who cannot see it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from troubleshooting.schema import PlaybookDefinition

NODE_W = 190
NODE_H = 50
GAP_X = 40
GAP_Y = 80
MARGIN = 30
TITLE_CHARS = 26
LABEL_CHARS = 22

KIND_LABELS = {
    "check": "Check",
    "question": "Question",
    "decide": "Decision",
    "instruct": "Instruction",
    "action": "Recovery action",
    "verify": "Sign-in test",
    "subflow": "Sub-playbook",
    "end": "End",
}


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    title: str
    depth: int | None  # None: not reachable from the start
    x: int
    y: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Graph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int
    title: str

    def node(self, node_id: str) -> GraphNode:
        return next(node for node in self.nodes if node.id == node_id)


def _answer(value) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def node_edges(node) -> list[tuple[str, str]]:
    """(branch label, target) for every way out of a node, in the file's order."""
    out: list[tuple[str, str]] = []
    kind = node.kind
    if kind in ("check", "action", "verify", "subflow"):
        out += [(name, target) for name, target in node.outcomes.items()]
    if kind == "question":
        out += [(option.label or _answer(option.value), option.next) for option in node.options]
    if kind == "decide":
        out += [
            (condition.label or f"when {condition.when}", condition.next)
            for condition in node.conditions
        ]
        out += [("otherwise", node.otherwise), ("on error", node.on_error)]
    if kind == "subflow":
        out.append(("otherwise", node.otherwise))
    if kind == "instruct":
        out += [("done", node.done), ("not done", node.not_done)]
    if node.on_exhausted:
        out.append((f"after {node.max_visits} visits", node.on_exhausted))
    return out


def build_graph(definition: PlaybookDefinition) -> Graph:
    """Nodes placed in layers by BFS depth from the start; unreachable ones in a last layer.
    Edges to a node that does not exist are left out (the linter reports them)."""
    nodes = definition.node_map()
    depth: dict[str, int] = {}
    if definition.start in nodes:
        depth[definition.start] = 0
        queue = deque([definition.start])
        while queue:
            current = queue.popleft()
            for _, target in node_edges(nodes[current]):
                if target in nodes and target not in depth:
                    depth[target] = depth[current] + 1
                    queue.append(target)
    last = max(depth.values(), default=-1) + 1
    layers: dict[int, list[str]] = {}
    for node_id in nodes:  # file order within a layer
        layers.setdefault(depth.get(node_id, last), []).append(node_id)
    widest = max((len(ids) for ids in layers.values()), default=1)
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X
    placed = []
    for layer, ids in sorted(layers.items()):
        row_width = len(ids) * NODE_W + (len(ids) - 1) * GAP_X
        left = (width - row_width) // 2
        for index, node_id in enumerate(ids):
            node = nodes[node_id]
            placed.append(
                GraphNode(
                    node_id,
                    node.kind,
                    node.title,
                    depth.get(node_id),
                    left + index * (NODE_W + GAP_X),
                    MARGIN + layer * (NODE_H + GAP_Y),
                )
            )
    edges = [
        GraphEdge(node_id, target, label)
        for node_id, node in nodes.items()
        for label, target in node_edges(node)
        if target in nodes
    ]
    height = 2 * MARGIN + len(layers) * NODE_H + (len(layers) - 1) * GAP_Y
    return Graph(placed, edges, width, height, definition.title)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _edge(graph: Graph, edge: GraphEdge, index: int) -> str:
    source, target = graph.node(edge.source), graph.node(edge.target)
    label = escape(_short(edge.label, LABEL_CHARS))
    full = escape(f"{edge.source} → {edge.target}: {edge.label}")
    if source.id == target.id:  # a node retrying itself: a loop on its right side
        x, y = source.x + NODE_W, source.y + NODE_H // 2
        path = f"M{x},{y - 10} C{x + 45},{y - 30} {x + 45},{y + 30} {x},{y + 10}"
        lx, ly = x + 40, y + 4
    else:
        x1, y1 = source.x + NODE_W // 2, source.y + NODE_H
        x2, y2 = target.x + NODE_W // 2, target.y
        if target.y <= source.y:  # back or sideways edge: leave from the side, arrive on top
            x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
        # Spread labels of edges sharing a source along the line so they overlap less.
        t = 0.35 + 0.1 * (index % 3)
        path = f"M{x1},{y1} L{x2},{y2}"
        lx, ly = round(x1 + (x2 - x1) * t), round(y1 + (y2 - y1) * t)
    return (
        f'<g class="pb-edge"><title>{full}</title>'
        f'<path class="pb-edge-line" d="{path}" marker-end="url(#pb-arrow)"/>'
        f'<text class="pb-edge-label" x="{lx}" y="{ly}" text-anchor="middle">{label}</text></g>'
    )


def merged_edges(graph: Graph) -> list[GraphEdge]:
    """One line per pair of nodes: branches that lead to the same place (say `error` and
    `timeout`) share it, their labels joined, so the picture stays readable."""
    labels: dict[tuple[str, str], list[str]] = {}
    for edge in graph.edges:
        labels.setdefault((edge.source, edge.target), []).append(edge.label)
    return [
        GraphEdge(source, target, ", ".join(names)) for (source, target), names in labels.items()
    ]


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
    by_source: dict[str, int] = {}
    for edge in merged_edges(graph):
        index = by_source.get(edge.source, 0)
        by_source[edge.source] = index + 1
        parts.append(_edge(graph, edge, index))
    for node in graph.nodes:
        unreachable = " pb-unreachable" if node.depth is None else ""
        parts.append(
            f'<g class="pb-node pb-node-{escape(node.kind)}{unreachable}" '
            f'data-node="{escape(node.id)}">'
            f"<title>{escape(node.kind_label)}: {escape(node.title)} ({escape(node.id)})</title>"
            f"{_shape(node)}"
            f'<text class="pb-node-title" x="{node.x + NODE_W // 2}" y="{node.y + 22}" '
            f'text-anchor="middle">{escape(_short(node.title, TITLE_CHARS))}</text>'
            f'<text class="pb-node-kind" x="{node.x + NODE_W // 2}" y="{node.y + 39}" '
            f'text-anchor="middle">{escape(node.kind_label)} · {escape(node.id)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
