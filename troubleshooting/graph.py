"""A read-only picture of a playbook version: its nodes and edges in a layered drawing (the
Sugiyama method), drawn as SVG on the server.

The layout takes the standard steps: branches that loop back are turned around so the graph
flows down from the start; every step gets the layer of its longest path from the start
(steps not reachable from it go below); a branch spanning several layers passes through a
dummy point in each layer between, so it runs through the gaps beside the boxes, never
across one; median sweeps and neighbour swaps order each layer to cut crossings; and the x
positions are the least-squares placement next to each step's neighbours that keeps the
order and the spacing. A branch's label sits on its line in the gap between two layers,
where there are no boxes, so it never hides a step. Everything is deterministic: the same
playbook always draws the same picture.

Every piece of playbook text is escaped before it enters the markup. Styling is by class
(`pb-node-<kind>`, `pb-edge`, in static/css/app.css), never inline. Each node carries a
<title> (its kind, title and id) and the page lists nodes and edges as text beside the
picture, for people who cannot see it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from troubleshooting.schema import PlaybookDefinition

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
SWEEPS = 24

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
    """One drawn line: the branches between two steps (see merged_edges), as points from the
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


def _merge(edges: list[GraphEdge]) -> list[GraphEdge]:
    labels: dict[tuple[str, str], list[str]] = {}
    for edge in edges:
        labels.setdefault((edge.source, edge.target), []).append(edge.label)
    return [
        GraphEdge(source, target, ", ".join(names)) for (source, target), names in labels.items()
    ]


def merged_edges(graph: Graph) -> list[GraphEdge]:
    """One line per pair of nodes: branches that lead to the same place (say `error` and
    `timeout`) share it, their labels joined, so the picture stays readable."""
    return _merge(graph.edges)


def _label_width(label: str) -> int:
    return len(_short(label, LABEL_CHARS)) * LABEL_CHAR_W + 2 * LABEL_PAD


def _bfs_depth(start: int | None, succ: list[list[int]]) -> dict[int, int]:
    depth: dict[int, int] = {}
    if start is not None:
        depth[start] = 0
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for target in succ[current]:
                if target not in depth:
                    depth[target] = depth[current] + 1
                    queue.append(target)
    return depth


def _back_edges(start: int | None, succ: list[list[int]]) -> set[tuple[int, int]]:
    """Edges closing a cycle in a depth-first search from the start (then from each step it
    did not reach, in file order). Turning them around leaves a graph without cycles."""
    state: dict[int, int] = {}  # 1: on the search path, 2: finished
    back: set[tuple[int, int]] = set()
    roots = ([start] if start is not None else []) + list(range(len(succ)))
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[current] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((current, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return back


def _longest_path_layers(
    members: list[int], preds: list[list[int]], succ: list[list[int]], base: int, layer: list[int]
) -> None:
    """Layer = the longest path from a source, in topological order (file order breaks ties)."""
    inside = set(members)
    waiting = {v: sum(1 for p in preds[v] if p in inside) for v in members}
    ready = [v for v in members if waiting[v] == 0]
    heapq.heapify(ready)
    while ready:
        v = heapq.heappop(ready)
        layer[v] = max([base] + [layer[p] + 1 for p in preds[v] if p in inside])
        for w in succ[v]:
            if w in inside:
                waiting[w] -= 1
                if waiting[w] == 0:
                    heapq.heappush(ready, w)


def _count_crossings(upper: list[int], down: list[list[int]], pos: list[int], size: int) -> int:
    """Crossings between one layer and the next: inversions among the lines' lower ends, with
    the lines sorted by their upper ends (a Fenwick tree counts them)."""
    ends = sorted((pos[u], pos[w]) for u in upper for w in down[u])
    tree = [0] * (size + 1)
    crossings = 0
    for seen, (_, lower) in enumerate(ends):
        index, not_right = lower + 1, 0
        while index > 0:
            not_right += tree[index]
            index -= index & -index
        crossings += seen - not_right
        index = lower + 1
        while index <= size:
            tree[index] += 1
            index += index & -index
    return crossings


def _total_crossings(layers: list[list[int]], down: list[list[int]], pos: list[int]) -> int:
    return sum(
        _count_crossings(layers[i], down, pos, len(layers[i + 1])) for i in range(len(layers) - 1)
    )


def _median(values: list[float]) -> float:
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _reorder(layer: list[int], neighbours: list[list[int]], pos: list[int]) -> list[int]:
    """The layer sorted by the median position of each vertex's neighbours in the layer just
    fixed; a vertex without such neighbours keeps its place."""
    keyed = sorted(
        (_median([pos[u] for u in neighbours[v]]), index, v)
        for index, v in enumerate(layer)
        if neighbours[v]
    )
    movable = iter(v for _, _, v in keyed)
    return [v if not neighbours[v] else next(movable) for v in layer]


def _pair_crossings(left: int, right: int, sides: tuple[list[list[int]], ...], pos) -> int:
    return sum(1 for side in sides for a in side[left] for b in side[right] if pos[a] > pos[b])


def _transpose(layers, up, down, pos) -> None:
    """Swap neighbours in a layer while that removes crossings with the layers around."""
    sides = (up, down)
    for layer in layers:
        improved = True
        while improved:
            improved = False
            for i in range(len(layer) - 1):
                left, right = layer[i], layer[i + 1]
                if _pair_crossings(right, left, sides, pos) < _pair_crossings(
                    left, right, sides, pos
                ):
                    layer[i], layer[i + 1] = right, left
                    pos[left], pos[right] = i + 1, i
                    improved = True


def _order(layers: list[list[int]], up, down, count: int) -> list[list[int]]:
    pos = [0] * count

    def index_all() -> None:
        for layer in layers:
            for i, v in enumerate(layer):
                pos[v] = i

    index_all()
    best, fewest = [list(layer) for layer in layers], _total_crossings(layers, down, pos)
    for sweep in range(SWEEPS):
        if fewest == 0:
            break
        if sweep % 2 == 0:
            steps = [(i, up) for i in range(1, len(layers))]
        else:
            steps = [(i, down) for i in range(len(layers) - 2, -1, -1)]
        for i, neighbours in steps:
            layers[i] = _reorder(layers[i], neighbours, pos)
            for j, v in enumerate(layers[i]):
                pos[v] = j
        _transpose(layers, up, down, pos)
        crossings = _total_crossings(layers, down, pos)
        if crossings < fewest:
            best, fewest = [list(layer) for layer in layers], crossings
    return best


def _type1_conflicts(layers, up, real_count: int) -> set[tuple[int, int]]:
    """Lines that cross a long line's inner segment (between two dummies): the alignment
    below leaves them out, so long lines run straight (Brandes and Köpf's type 1 conflicts)."""
    conflicts: set[tuple[int, int]] = set()
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    for upper, lower in pairwise(layers):
        k0, scan = 0, 0
        for i, v in enumerate(lower):
            inner = next((u for u in up[v] if u >= real_count), None) if v >= real_count else None
            if inner is None and i != len(lower) - 1:
                continue
            k1 = pos[inner] if inner is not None else len(upper)
            for w in lower[scan : i + 1]:
                for u in up[w]:
                    if (pos[u] < k0 or pos[u] > k1) and not (u >= real_count and w >= real_count):
                        conflicts.add((u, w))
            scan, k0 = i + 1, k1
    return conflicts


def _align(layers, neighbours, conflicts, real_count: int) -> tuple[dict[int, int], dict[int, int]]:
    """Vertical alignment: each vertex joins the block of a median neighbour in the layer
    before, unless that would cross an alignment already made."""
    root = {v: v for layer in layers for v in layer}
    align = dict(root)
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    for layer in layers:
        previous = -1
        for v in layer:
            around = sorted(neighbours[v], key=pos.__getitem__)
            if v >= real_count and any(u >= real_count for u in around):
                around = [u for u in around if u >= real_count]  # a track stays straight
            if not around:
                continue
            middle = (len(around) - 1) / 2
            for w in around[int(middle) : int(middle + 0.5) + 1]:
                if (
                    align[v] == v
                    and previous < pos[w]
                    and (w, v) not in conflicts
                    and (v, w) not in conflicts
                ):
                    align[w] = v
                    align[v] = root[v] = root[w]
                    previous = pos[w]
    return root, align


def _compact(layers, root, separation) -> dict[int, float]:
    """Blocks placed as far left as their left neighbours allow, then each moved right up to
    its right neighbours (longest paths in the graph of blocks, as dagre does)."""
    after: dict[int, dict[int, float]] = {}
    before: dict[int, dict[int, float]] = {}
    for layer in layers:
        for left, right in pairwise(layer):
            a, b = root[left], root[right]
            space = max(after.setdefault(a, {}).get(b, 0), separation(left, right))
            after[a][b] = space
            before.setdefault(b, {})[a] = space
    blocks = list(dict.fromkeys(root[v] for layer in layers for v in layer))
    waiting = {b: len(before.get(b, {})) for b in blocks}
    order = [b for b in blocks if waiting[b] == 0]
    for b in order:  # grows while it is read: a topological order of the blocks
        for c in after.get(b, {}):
            waiting[c] -= 1
            if waiting[c] == 0:
                order.append(c)
    xs: dict[int, float] = {}
    for b in order:
        xs[b] = max((xs[a] + space for a, space in before.get(b, {}).items()), default=0.0)
    for b in reversed(order):
        if after.get(b):
            xs[b] = max(xs[b], min(xs[c] - space for c, space in after[b].items()))
    return {v: xs[root[v]] for layer in layers for v in layer}


def _coordinates(layers, up, down, real_count: int, right_extra: list[int], count: int):
    """x for every vertex by Brandes and Köpf's method: four alignments (towards the upper or
    the lower neighbours, packed to the left or to the right), lined up with the narrowest,
    and each vertex at the mean of its two middle candidates."""

    def half_left(v: int) -> float:
        return NODE_W / 2 if v < real_count else 0

    def half_right(v: int) -> float:
        return NODE_W / 2 + right_extra[v] if v < real_count else 0

    def space(a: int, b: int) -> int:
        return GAP_X if a < real_count and b < real_count else EDGE_GAP

    conflicts = _type1_conflicts(layers, up, real_count)
    candidates = []
    for vertical in ("down", "up"):
        ordered = layers if vertical == "down" else layers[::-1]
        neighbours = up if vertical == "down" else down
        for horizontal in ("left", "right"):
            if horizontal == "left":
                root, _ = _align(ordered, neighbours, conflicts, real_count)
                xs = _compact(
                    ordered, root, lambda a, b: half_right(a) + space(a, b) + half_left(b)
                )
            else:
                mirrored = [layer[::-1] for layer in ordered]
                root, _ = _align(mirrored, neighbours, conflicts, real_count)
                xs = _compact(
                    mirrored, root, lambda a, b: half_left(a) + space(a, b) + half_right(b)
                )
                xs = {v: -value for v, value in xs.items()}
            candidates.append((horizontal, xs))

    def extent(xs: dict[int, float]) -> tuple[float, float]:
        return (
            min(xs[v] - half_left(v) for v in xs),
            max(xs[v] + half_right(v) for v in xs),
        )

    narrowest = min(candidates, key=lambda c: extent(c[1])[1] - extent(c[1])[0])[1]
    low, high = min(narrowest.values()), max(narrowest.values())
    lined_up = []
    for horizontal, xs in candidates:
        delta = low - min(xs.values()) if horizontal == "left" else high - max(xs.values())
        lined_up.append({v: value + delta for v, value in xs.items()})
    x = [0] * count
    for v in range(count):
        if v in narrowest:
            middle = sorted(xs[v] for xs in lined_up)
            # Candidates are whole or half numbers and every spacing whole: rounding half up
            # keeps each spacing.
            x[v] = math.floor((middle[1] + middle[2]) / 2 + 0.5)
    return x, half_left, half_right


def _ports(ends: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Offsets from a box's centre for the lines meeting one of its sides, ordered by where
    their other ends lie so they do not cross at the box."""
    keys = sorted(ends, key=lambda key: (ends[key], key))
    if len(keys) < 2:
        return dict.fromkeys(keys, 0)
    span = min((len(keys) - 1) * PORT_STEP, NODE_W - 50)
    return {key: round(-span / 2 + i * span / (len(keys) - 1)) for i, key in enumerate(keys)}


def _curve_point(start: tuple[int, int], end: tuple[int, int], y: float) -> float:
    """x where the curve drawn between two points of a gap (see _path) reaches height y."""
    (x1, y1), (x2, y2) = start, end
    low, high = 0.0, 1.0
    for _ in range(30):
        t = (low + high) / 2
        at = y1 + (y2 - y1) * (1.5 * t * (1 - t) + t**3)
        if (at < y) == (y2 > y1):
            low = t
        else:
            high = t
    t = (low + high) / 2
    return x1 + (x2 - x1) * (3 * t * t - 2 * t**3)


def _place_label(start: tuple[int, int], end: tuple[int, int], width: int, taken: list[Box]) -> Box:
    """A box for a label on a line's first curve, inside the gap between two layers: the
    first of a few heights where it overlaps no label placed before, else the least bad."""
    top, bottom = sorted((start[1], end[1]))
    candidates = []
    for fraction in (0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.8):
        centre_y = top + (bottom - top) * fraction
        centre_x = _curve_point(start, end, centre_y)
        box = Box(round(centre_x - width / 2), round(centre_y - LABEL_H / 2), width, LABEL_H)
        overlap = sum(
            max(0, min(box.x + box.w, o.x + o.w) - max(box.x, o.x))
            * max(0, min(box.y + box.h, o.y + o.h) - max(box.y, o.y))
            for o in taken
        )
        if overlap == 0:
            return box
        candidates.append((overlap, len(candidates), box))
    return min(candidates)[2]


def build_graph(definition: PlaybookDefinition) -> Graph:
    """The playbook laid out in layers from the start down (see the module docstring).
    Edges to a node that does not exist are left out (the linter reports them)."""
    nodes = definition.node_map()
    ids = list(nodes)
    index = {node_id: i for i, node_id in enumerate(ids)}
    edges = [
        GraphEdge(node_id, target, label)
        for node_id, node in nodes.items()
        for label, target in node_edges(node)
        if target in nodes
    ]
    lines = _merge(edges)
    pairs = [(index[line.source], index[line.target]) for line in lines]
    count = len(ids)
    succ: list[list[int]] = [[] for _ in ids]
    for s, t in pairs:
        if s != t:
            succ[s].append(t)
    start = index.get(definition.start)
    depth = _bfs_depth(start, succ)

    # Layers: back edges and edges from unreachable steps point up; everything else down.
    back = _back_edges(start, succ)
    upward = [(s, t) in back or (s not in depth and t in depth) for s, t in pairs]
    preds: list[list[int]] = [[] for _ in ids]
    dag_succ: list[list[int]] = [[] for _ in ids]
    for (s, t), up_edge in zip(pairs, upward, strict=True):
        if s != t:
            upper, lower = (t, s) if up_edge else (s, t)
            preds[lower].append(upper)
            dag_succ[upper].append(lower)
    layer = [0] * count
    reachable = [v for v in range(count) if v in depth]
    _longest_path_layers(reachable, preds, dag_succ, 0, layer)
    below = max((layer[v] for v in reachable), default=-1) + 1
    _longest_path_layers([v for v in range(count) if v not in depth], preds, dag_succ, below, layer)

    # Long edges pass through a dummy vertex in every layer they cross. Lines down into the
    # same step share their dummies (edge concentration): the many ways to "escalate" join
    # one track into it instead of each taking a column of its own.
    up: list[list[int]] = [[] for _ in ids]
    down: list[list[int]] = [[] for _ in ids]
    shared: dict[tuple[int, int], int] = {}
    chains: list[list[int]] = []  # per line, its vertices from the upper end down
    for (s, t), up_edge in zip(pairs, upward, strict=True):
        if s == t:
            chains.append([s])
            continue
        upper, lower = (t, s) if up_edge else (s, t)
        chain = [upper]
        for dummy_layer in range(layer[upper] + 1, layer[lower]):
            dummy = shared.get((lower, dummy_layer)) if not up_edge else None
            if dummy is None:
                dummy = count
                layer.append(dummy_layer)
                up.append([])
                down.append([])
                count += 1
                if not up_edge:
                    shared[(lower, dummy_layer)] = dummy
            chain.append(dummy)
        chain.append(lower)
        for a, b in pairwise(chain):
            if b not in down[a] or b < len(ids):
                down[a].append(b)
                up[b].append(a)
        chains.append(chain)

    # First order: depth first from the start along the lines, as the file lists them.
    layer_count = max(layer, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(layer_count)]
    seen: set[int] = set()
    for root in ([start] if start is not None else []) + list(range(count)):
        stack = [root]
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            layers[layer[v]].append(v)
            stack.extend(reversed(down[v]))
    layers = _order(layers, up, down, count)

    label_widths = [_label_width(line.label) for line in lines]
    right_extra = [0] * len(ids)
    for line, width in zip(lines, label_widths, strict=True):
        if line.source == line.target:
            right_extra[index[line.source]] = LOOP_W + width
    x, half_left, half_right = _coordinates(layers, up, down, len(ids), right_extra, count)

    def top(v: int) -> int:
        return MARGIN + layer[v] * (NODE_H + GAP_Y)

    # Where lines meet the boxes: spread along the bottom and the top side. Lines sharing a
    # dummy next to the box share their end too.
    real = len(ids)
    bottom_ends: dict[int, dict[tuple[int, int], int]] = {}
    top_ends: dict[int, dict[tuple[int, int], int]] = {}
    for c, chain in enumerate(chains):
        if len(chain) > 1:
            after, before = chain[1], chain[-2]
            bottom_ends.setdefault(chain[0], {})[(after, c if after < real else -1)] = x[after]
            top_ends.setdefault(chain[-1], {})[(before, c if before < real else -1)] = x[before]
    bottom_port: dict[tuple[int, int], int] = {}
    top_port: dict[tuple[int, int], int] = {}
    for ends in bottom_ends.values():
        bottom_port.update(_ports(ends))
    for ends in top_ends.values():
        top_port.update(_ports(ends))

    routes: list[EdgeRoute] = []
    taken: list[Box] = []
    placing: list[tuple[tuple[int, int], int]] = []
    drawn: list[tuple[tuple[tuple[int, int], ...], bool]] = []
    for c, (chain, up_edge) in enumerate(zip(chains, upward, strict=True)):
        if len(chain) == 1:
            drawn.append(((), False))
            continue
        after, before = chain[1], chain[-2]
        bottom = bottom_port[(after, c if after < real else -1)]
        points = [(x[chain[0]] + bottom, top(chain[0]) + NODE_H)]
        for v in chain[1:-1]:
            points += [(x[v], top(v)), (x[v], top(v) + NODE_H)]
        points.append(
            (x[chain[-1]] + top_port[(before, c if before < real else -1)], top(chain[-1]))
        )
        if up_edge:
            points.reverse()
        drawn.append((tuple(points), up_edge))
        placing.append(((min(points[0][1], points[1][1]), points[0][0]), c))
    label_boxes: dict[int, Box] = {}
    # Loops first (their room is reserved), then the others layer by layer, left to right.
    for c, chain in enumerate(chains):
        if len(chain) == 1:
            v = chain[0]
            box = Box(
                round(x[v] + NODE_W / 2 + LOOP_W - 6),
                top(v) + (NODE_H - LABEL_H) // 2,
                label_widths[c],
                LABEL_H,
            )
            label_boxes[c] = box
            taken.append(box)
    for _, c in sorted(placing):
        points = drawn[c][0]
        box = _place_label(points[0], points[1], label_widths[c], taken)
        label_boxes[c] = box
        taken.append(box)

    # Shift everything right so the leftmost box, line or label starts at the margin.
    lefts = [x[v] - half_left(v) for v in range(count)] + [box.x for box in taken]
    rights = [x[v] + half_right(v) for v in range(count)] + [box.x + box.w for box in taken]
    shift = MARGIN - round(min(lefts, default=0))
    width = round(max(rights, default=0)) + shift + MARGIN
    for c, line in enumerate(lines):
        points, up_edge = drawn[c]
        box = label_boxes[c]
        routes.append(
            EdgeRoute(
                line.source,
                line.target,
                line.label,
                tuple((px + shift, py) for px, py in points),
                Box(box.x + shift, box.y, box.w, box.h),
                upward=up_edge,
                loop=not points,
            )
        )
    placed = [
        GraphNode(
            node_id,
            nodes[node_id].kind,
            nodes[node_id].title,
            depth.get(v),
            layer[v],
            round(x[v] - NODE_W / 2) + shift,
            top(v),
        )
        for v, node_id in enumerate(ids)
    ]
    height = 2 * MARGIN + layer_count * NODE_H + max(layer_count - 1, 0) * GAP_Y
    return Graph(
        placed,
        edges,
        routes,
        width,
        height,
        definition.title,
        definition.start if start is not None else None,
    )


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
        f"{escape(_short(route.label, LABEL_CHARS))}</text>"
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
            f'text-anchor="middle">{escape(_short(node.title, TITLE_CHARS))}</text>'
            f'<text class="pb-node-kind" x="{node.x + NODE_W // 2}" y="{node.y + 39}" '
            f'text-anchor="middle">{escape(node.kind_label)} · {escape(node.id)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
