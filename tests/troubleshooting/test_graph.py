import re
import socket

import pytest
import yaml
from django.urls import reverse
from django.utils.html import escape

from tests.troubleshooting.playbook_helpers import (
    clean_playbook,
    definition,
    node,
    shipped_playbooks,
)
from troubleshooting.graph import (
    GAP_Y,
    MARGIN,
    NODE_H,
    Graph,
    build_graph,
    node_edges,
    playbook_drawing,
    render_svg,
)
from troubleshooting.graph import drawing as drawing_module
from troubleshooting.publishing import playbook_publish_source
from troubleshooting.schema import parse_playbook
from troubleshooting.selectors import playbook_definition
from troubleshooting.services import content_hash


def _graph(data=None):
    return build_graph(parse_playbook(data or clean_playbook()))


def test_graph_has_every_node_and_every_edge():
    definition = parse_playbook(clean_playbook())
    graph = build_graph(definition)

    svg = str(render_svg(graph))

    ids = [n["id"] for n in clean_playbook()["nodes"]]
    assert sorted(re.findall(r'data-node="([a-z_]+)"', svg)) == sorted(ids)
    expected = [(n.id, target, label) for n in definition.nodes for label, target in node_edges(n)]
    assert [(e.source, e.target, e.label) for e in graph.edges] == expected
    pairs = {(source, target) for source, target, _ in expected}
    assert svg.count('<g class="pb-edge">') == len(pairs)
    for source, target in pairs:
        labels = ", ".join(label for s, t, label in expected if (s, t) == (source, target))
        assert f"<title>{escape(f'{source} → {target}: {labels}')}</title>" in svg
    assert "<title>status → esc: pending_enrollment, bypass, locked_out, disabled, error" in svg


def test_graph_edges_are_labelled_with_their_branch():
    graph = _graph()

    labels = {(e.source, e.target): e.label for e in graph.edges if e.source in ("ask", "fix")}

    assert labels == {
        ("ask", "esc"): "Yes",
        ("ask", "fix"): "No",
        ("fix", "verify"): "done",
        ("fix", "esc"): "not done",
    }
    verify = [(e.label, e.target) for e in graph.edges if e.source == "verify"]
    assert ("after 2 visits", "esc") in verify
    assert ("denied", "verify") in verify


def test_graph_layers_follow_breadth_first_depth_from_the_start():
    graph = _graph()

    depth = {n.id: n.depth for n in graph.nodes}

    assert depth == {
        "status": 0,
        "ask": 1,
        "esc": 1,
        "fix": 2,
        "verify": 3,
        "sec": 4,
        "pick": 4,
        "done": 5,
    }
    assert graph.node("status").y == MARGIN
    assert graph.node("verify").y == MARGIN + 3 * (NODE_H + GAP_Y)


def test_graph_styles_nodes_by_kind_without_inline_style():
    svg = str(render_svg(_graph()))

    assert 'class="pb-node pb-node-check" data-node="status"' in svg
    assert 'class="pb-node pb-node-decide" data-node="pick"' in svg
    assert 'class="pb-node pb-node-end" data-node="done"' in svg
    assert "style=" not in svg
    assert "<script" not in svg


def test_graph_escapes_playbook_text():
    data = clean_playbook()
    data["title"] = "Mini <b>&</b>"
    node(data, "ask")["title"] = '<script>alert("x")</script>'
    node(data, "ask")["options"][0]["label"] = "Yes & <i>sure</i>"

    svg = str(render_svg(_graph(data)))

    assert "<script>" not in svg
    assert "<i>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert "Yes &amp; &lt;i&gt;sure&lt;/i&gt;" in svg
    assert "Mini &lt;b&gt;&amp;&lt;/b&gt;" in svg


def test_graph_puts_unreachable_nodes_in_a_last_layer():
    data = clean_playbook()
    data["nodes"].append(
        {"id": "orphan", "kind": "end", "title": "Orphan", "outcome": "prompt_restored"}
    )

    graph = _graph(data)

    orphan = graph.node("orphan")
    assert orphan.depth is None
    assert orphan.y > max(n.y for n in graph.nodes if n.id != "orphan")
    assert 'class="pb-node pb-node-end pb-unreachable" data-node="orphan"' in str(render_svg(graph))


def _instruct(node_id: str, done: str, not_done: str) -> dict:
    return {
        "id": node_id,
        "kind": "instruct",
        "title": node_id,
        "caller_action": "enable_notifications",
        "done": done,
        "not_done": not_done,
    }


def _end(node_id: str) -> dict:
    return {"id": node_id, "kind": "end", "title": node_id, "outcome": "prompt_restored"}


def _crossings(graph: Graph) -> int:
    """Pairs of lines crossing in the gaps between layers (lines sharing a track count once)."""
    gaps: dict[int, set[tuple[int, int]]] = {}
    for route in graph.routes:
        points = route.points
        for i in range(0, len(points) - 1, 2):
            (x1, y1), (x2, _) = sorted([points[i], points[i + 1]], key=lambda p: p[1])
            gaps.setdefault(y1, set()).add((x1, x2))
    return sum(
        1
        for lines in gaps.values()
        for a in lines
        for b in lines
        if a < b and (a[0] - b[0]) * (a[1] - b[1]) < 0
    )


def _graphs() -> list[Graph]:
    return [_graph()] + [build_graph(definition(name)) for name in shipped_playbooks()]


def test_graph_draws_a_tree_listed_out_of_order_without_crossings():
    # The file lists b's ends before a's: drawn in file order, a's lines would cross b's.
    data = {
        "id": "tree",
        "complaint": "missing_prompt",
        "title": "Tree",
        "start": "s",
        "nodes": [
            _instruct("s", "a", "b"),
            _instruct("a", "ea1", "ea2"),
            _instruct("b", "eb1", "eb2"),
            _end("eb1"),
            _end("eb2"),
            _end("ea1"),
            _end("ea2"),
        ],
    }

    graph = _graph(data)

    assert _crossings(graph) == 0
    assert [n.layer for n in graph.nodes] == [0, 1, 1, 2, 2, 2, 2]
    assert graph.node("a").x < graph.node("b").x
    assert max(graph.node(i).x for i in ("ea1", "ea2")) < min(
        graph.node(i).x for i in ("eb1", "eb2")
    )


def test_graph_puts_the_start_alone_on_top_and_every_branch_downwards_unless_it_loops_back():
    for graph in _graphs():
        layer = {n.id: n.layer for n in graph.nodes}

        assert [n.id for n in graph.nodes if n.layer == 0] == [graph.start]
        assert graph.node(graph.start).y == MARGIN
        for route in graph.routes:
            if route.loop:
                assert route.source == route.target
            elif route.upward:
                assert layer[route.target] < layer[route.source]
                assert route.points[0][1] == graph.node(route.source).y
            else:
                assert layer[route.target] > layer[route.source]
                assert route.points[0][1] == graph.node(route.source).y + NODE_H
                assert route.points[-1][1] == graph.node(route.target).y


@pytest.mark.parametrize("name", ["mini", *shipped_playbooks()])
def test_graph_labels_never_overlap_a_step_and_lines_pass_beside_the_steps(name):
    graph = _graph() if name == "mini" else build_graph(definition(name))

    boxes = [n.box for n in graph.nodes]
    overlaps = [
        (route.source, route.target, n.id)
        for route in graph.routes
        for n in graph.nodes
        if route.label_box.intersects(n.box)
    ]
    assert overlaps == []
    # Inside a layer a line runs straight down beside the boxes: never through one.
    through = [
        (route.source, route.target)
        for route in graph.routes
        for (x1, y1), (x2, y2) in zip(route.points[1::2], route.points[2::2], strict=False)
        for box in boxes
        if x1 == x2
        and box.x <= x1 <= box.x + box.w
        and min(y1, y2) < box.y + box.h
        and max(y1, y2) > box.y
    ]
    assert through == []
    assert all(0 <= b.x and b.x + b.w <= graph.width for b in boxes)
    assert all(
        0 <= r.label_box.x and r.label_box.x + r.label_box.w <= graph.width for r in graph.routes
    )


def test_graph_is_the_same_every_time():
    for name in shipped_playbooks():
        first = str(render_svg(build_graph(definition(name))))

        assert str(render_svg(build_graph(definition(name)))) == first


def test_graph_marks_the_start_for_the_first_view():
    svg = str(render_svg(_graph()))

    assert 'data-node="status" data-start>' in svg
    assert svg.count("data-start") == 1


@pytest.fixture
def layouts(monkeypatch) -> list[str]:
    """The titles of the playbooks laid out by playbook_drawing, one per call of build_graph
    (the real one, wrapped to count)."""
    calls: list[str] = []
    real = drawing_module.build_graph

    def counting(definition):
        calls.append(definition.title)
        return real(definition)

    monkeypatch.setattr(drawing_module, "build_graph", counting)
    return calls


def test_drawing_is_laid_out_once_per_content(layouts):
    data = definition("lost_device")
    expected = str(render_svg(build_graph(data)))

    first = playbook_drawing(data, content_hash=content_hash(data))
    second = playbook_drawing(data, content_hash=content_hash(data))

    assert layouts == [data.title]
    assert str(first.svg) == expected
    assert str(second.svg) == expected
    assert second.graph == first.graph


def test_drawing_of_a_changed_content_is_laid_out_again(layouts):
    before = parse_playbook(clean_playbook())
    changed = clean_playbook()
    node(changed, "fix")["title"] = "Turn notifications on"
    after = parse_playbook(changed)

    old = playbook_drawing(before, content_hash=content_hash(before))
    new = playbook_drawing(after, content_hash=content_hash(after))

    assert len(layouts) == 2
    assert "Turn notifications on" in str(new.svg)
    assert "Turn notifications on" not in str(old.svg)
    assert str(new.svg) == str(render_svg(build_graph(after)))


def test_drawing_is_computed_while_the_cache_is_unreachable(layouts, settings):
    with socket.socket() as probe:  # a free port: nothing listens there once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "helpdesk.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    data = parse_playbook(clean_playbook())

    drawings = [playbook_drawing(data, content_hash=content_hash(data)) for _ in range(2)]

    assert len(layouts) == 2
    assert [str(d.svg) for d in drawings] == [str(render_svg(build_graph(data)))] * 2


@pytest.mark.django_db
def test_version_page_lays_the_graph_out_on_its_first_view_only(
    layouts, client_for, administrator, django_assert_num_queries
):
    source = yaml.safe_dump(clean_playbook(), sort_keys=False)
    version = playbook_publish_source(actor=administrator, source=source).version
    url = reverse(
        "troubleshooting:playbook-version",
        kwargs={"slug": version.playbook.slug, "number": version.number},
    )
    client = client_for(administrator)
    client.get(reverse("troubleshooting:playbook-list"))  # warm the session
    playbook_definition(version)  # kept per process, whether or not the drawing is cached

    with django_assert_num_queries(9):
        first = client.get(url)
    with django_assert_num_queries(9):
        second = client.get(url)

    assert layouts == [clean_playbook()["title"]]
    assert str(second.context["svg"]) == str(first.context["svg"])
    assert str(second.context["svg"]) in second.content.decode()
