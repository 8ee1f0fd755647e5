"""Layers and their order: branches that loop back turned around, each step on the layer of
its longest path from the start, then median sweeps and neighbour swaps to cut crossings."""

from __future__ import annotations

import heapq
from collections import deque

SWEEPS = 24


def bfs_depth(start: int | None, succ: list[list[int]]) -> dict[int, int]:
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


def back_edges(start: int | None, succ: list[list[int]]) -> set[tuple[int, int]]:
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


def longest_path_layers(
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


def order_layers(layers: list[list[int]], up, down, count: int) -> list[list[int]]:
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
