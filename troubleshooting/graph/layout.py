"""build_graph: a playbook laid out in layers from the start down (see the package
docstring), with dummy points for long branches, the ends of lines spread along the boxes and
each label placed in a gap between layers."""

from __future__ import annotations

from itertools import pairwise

from troubleshooting.graph.coordinates import x_coordinates
from troubleshooting.graph.layers import back_edges, bfs_depth, longest_path_layers, order_layers
from troubleshooting.graph.model import (
    GAP_Y,
    LABEL_CHAR_W,
    LABEL_CHARS,
    LABEL_H,
    LABEL_PAD,
    LOOP_W,
    MARGIN,
    NODE_H,
    NODE_W,
    PORT_STEP,
    Box,
    EdgeRoute,
    Graph,
    GraphEdge,
    GraphNode,
    merge,
    node_edges,
    short,
)
from troubleshooting.schema import PlaybookDefinition


def _label_width(label: str) -> int:
    return len(short(label, LABEL_CHARS)) * LABEL_CHAR_W + 2 * LABEL_PAD


def _ports(ends: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Offsets from a box's centre for the lines meeting one of its sides, ordered by where
    their other ends lie so they do not cross at the box."""
    keys = sorted(ends, key=lambda key: (ends[key], key))
    if len(keys) < 2:
        return dict.fromkeys(keys, 0)
    span = min((len(keys) - 1) * PORT_STEP, NODE_W - 50)
    return {key: round(-span / 2 + i * span / (len(keys) - 1)) for i, key in enumerate(keys)}


def _curve_point(start: tuple[int, int], end: tuple[int, int], y: float) -> float:
    """x where the curve drawn between two points of a gap (see draw._path) reaches height y."""
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
    lines = merge(edges)
    pairs = [(index[line.source], index[line.target]) for line in lines]
    count = len(ids)
    succ: list[list[int]] = [[] for _ in ids]
    for s, t in pairs:
        if s != t:
            succ[s].append(t)
    start = index.get(definition.start)
    depth = bfs_depth(start, succ)

    # Layers: back edges and edges from unreachable steps point up; everything else down.
    back = back_edges(start, succ)
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
    longest_path_layers(reachable, preds, dag_succ, 0, layer)
    below = max((layer[v] for v in reachable), default=-1) + 1
    longest_path_layers([v for v in range(count) if v not in depth], preds, dag_succ, below, layer)

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
    layers = order_layers(layers, up, down, count)

    label_widths = [_label_width(line.label) for line in lines]
    right_extra = [0] * len(ids)
    for line, width in zip(lines, label_widths, strict=True):
        if line.source == line.target:
            right_extra[index[line.source]] = LOOP_W + width
    x, half_left, half_right = x_coordinates(layers, up, down, len(ids), right_extra, count)

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
