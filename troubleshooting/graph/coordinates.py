"""x coordinates by Brandes and Köpf's method: vertical alignments into blocks, blocks packed
as tight as the spacing allows, four candidates combined."""

from __future__ import annotations

import math
from itertools import pairwise

from troubleshooting.graph.model import EDGE_GAP, GAP_X, NODE_W


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


def x_coordinates(layers, up, down, real_count: int, right_extra: list[int], count: int):
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
