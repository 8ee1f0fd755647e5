"""The graph's pieces and sizes: the boxes, the nodes, the branches and the drawn lines of a
laid-out playbook, the sizes the layout and the drawing share, and the ways out of a node
(node_edges), read in the file's order."""

from __future__ import annotations

from dataclasses import dataclass

NODE_W = 190
NODE_H = 50
GAP_X = 40  # between two boxes in a layer
EDGE_GAP = 22  # between a box and a line passing it, or two passing lines
GAP_Y = 90  # between layers: where lines bend and labels sit
MARGIN = 30
TITLE_CHARS = 26
LABEL_CHARS = 22
LABEL_H = 14
LABEL_CHAR_W = 6  # a generous width for one 10 px character, so label boxes are never short
LABEL_PAD = 4
LOOP_W = 40  # how far a step's loop to itself bulges right of its box
PORT_STEP = 16  # between the ends of lines leaving or entering a box

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
class Box:
    x: int
    y: int
    w: int
    h: int

    def intersects(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    title: str
    depth: int | None  # breadth-first distance from the start; None: not reachable from it
    layer: int
    x: int  # top left corner of the box
    y: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def box(self) -> Box:
        return Box(self.x, self.y, NODE_W, NODE_H)


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class EdgeRoute:
    """One drawn line: the branches between two steps (see merge), as points from the
    source to the target. Points pair up: a pair in a gap between layers is drawn as a curve,
    a pair inside a layer as a straight run beside the boxes. A loop has no points."""

    source: str
    target: str
    label: str
    points: tuple[tuple[int, int], ...]
    label_box: Box
    upward: bool = False  # a branch back to an earlier step
    loop: bool = False  # a step retrying itself


@dataclass(frozen=True)
class Graph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    routes: list[EdgeRoute]
    width: int
    height: int
    title: str
    start: str | None

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


def merge(edges: list[GraphEdge]) -> list[GraphEdge]:
    """One line per pair of nodes: branches that lead to the same place (say `error` and
    `timeout`) share it, their labels joined, so the picture stays readable."""
    labels: dict[tuple[str, str], list[str]] = {}
    for edge in edges:
        labels.setdefault((edge.source, edge.target), []).append(edge.label)
    return [
        GraphEdge(source, target, ", ".join(names)) for (source, target), names in labels.items()
    ]


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
