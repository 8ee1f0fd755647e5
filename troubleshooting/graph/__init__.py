"""A read-only picture of a playbook version: its nodes and edges in a layered drawing (the
Sugiyama method), drawn as SVG on the server.

The layout takes the standard steps: branches that loop back are turned around so the graph
flows down from the start; every step gets the layer of its longest path from the start
(steps not reachable from it go below); a branch spanning several layers passes through a
dummy point in each layer between, so it runs through the gaps beside the boxes, never
across one; median sweeps and neighbour swaps order each layer to cut crossings; and the x
positions come from Brandes and Köpf's method: each step aligned with a median neighbour,
blocks packed as tight as the order and the spacing allow, four such placements combined. A
branch's label sits on its line in the gap between two layers,
where there are no boxes, so it never hides a step. Everything is deterministic: the same
playbook always draws the same picture.

Every piece of playbook text is escaped before it enters the markup. Styling is by class
(`pb-node-<kind>`, `pb-edge`, in static/css/app.css), never inline. Each node carries a
<title> (its kind, title and id) and the page lists nodes and edges as text beside the
picture, for people who cannot see it.

model.py holds the pieces and the sizes, layers.py the layers and their order, coordinates.py
the x positions, layout.py build_graph (dummy points, line ends, labels), draw.py
render_svg, and drawing.py playbook_drawing: both, once per content, kept in Django's cache.
"""

from troubleshooting.graph.draw import render_svg
from troubleshooting.graph.drawing import playbook_drawing
from troubleshooting.graph.layout import build_graph
from troubleshooting.graph.model import GAP_Y, MARGIN, NODE_H, NODE_W, Graph, node_edges

__all__ = [
    "GAP_Y",
    "MARGIN",
    "NODE_H",
    "NODE_W",
    "Graph",
    "build_graph",
    "node_edges",
    "playbook_drawing",
    "render_svg",
]
