import re

from django.utils.html import escape

from tests.troubleshooting.playbook_helpers import clean_playbook, node
from troubleshooting.graph import GAP_Y, MARGIN, NODE_H, build_graph, node_edges, render_svg
from troubleshooting.schema import parse_playbook


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
