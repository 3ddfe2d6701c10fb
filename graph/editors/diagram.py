"""A diagram of the main classes and their relations, as SVG drawn here (no Graphviz needed, same bytes each run).

Boxes are the top classes of the ontology (those without an sg: superclass) and the main classes below them;
the SKOS concept classes (value lists) are left out. Hollow arrows are rdfs:subClassOf; labelled arrows are
object properties whose domain and range are named classes, and sg:evidence (drawn between the boxes that stand
for them; of two inverse properties, the one the other is declared the inverse of). Boxes sit on a grid in
thematic rows — provenance, agents and places, instruments and activities; a class
the grid does not know yet goes to an extra row. Arrows bend around boxes in their way.
"""

from __future__ import annotations

import math
from html import escape

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ..namespaces import SG

#: Grid positions (column, row) of the classes drawn.
LAYOUT = {
    "Assertion": (0, 0), "Quote": (1, 0), "SourceDocument": (2, 0), "Observation": (4, 0),
    "Post": (0, 1), "Person": (1, 1), "Agent": (2, 1), "Country": (3, 1), "Place": (4, 1),
    "Event": (0, 2), "Organisation": (2, 2), "Site": (4, 2),
    "Project": (1, 3), "LegalInstrument": (2, 3), "Agreement": (3, 3),
}  # fmt: skip
#: Properties with a union as domain that are drawn all the same (one arrow from each member).
UNION_DOMAINS = ("evidence",)
CELL_W, CELL_H, BOX_W, BOX_H, MARGIN = 230, 150, 176, 50, 30


def _local(iri: object) -> str:
    return str(iri)[len(str(SG)) :]


def _label(graph: Graph, iri: URIRef, lang: str) -> str:
    for value in sorted(graph.objects(iri, SKOS.prefLabel)):
        if getattr(value, "language", None) == lang:
            return str(value)
    return _local(iri)


def _nodes(graph: Graph) -> tuple[dict[str, URIRef], list[str]]:
    classes = {c for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef) and str(c).startswith(str(SG))}
    concepts = sorted(_local(c) for c in classes if (c, RDFS.subClassOf, SKOS.Concept) in graph)
    shown = {}
    for cls in sorted(classes):
        name = _local(cls)
        is_root = not any(p in classes for p in graph.objects(cls, RDFS.subClassOf))
        if name not in concepts and (name in LAYOUT or is_root):
            shown[name] = cls
    return shown, concepts


def _stand_in(graph: Graph, cls: URIRef, shown: dict[str, URIRef], concepts: list[str]) -> str | None:
    """The box that stands for ``cls``: its own, its nearest drawn superclass, or the concept box."""
    queue, seen = [cls], set()
    while queue:
        current = queue.pop(0)
        name = _local(current)
        if name in shown:
            return name
        if name in concepts:
            return None
        seen.add(current)
        queue += sorted(p for p in graph.objects(current, RDFS.subClassOf) if isinstance(p, URIRef) and p not in seen)
    return None


def _edges(graph: Graph, shown: dict[str, URIRef], concepts: list[str]) -> dict[tuple[str, str], list[str]]:
    inverse_of = {a for a, _b in graph.subject_objects(OWL.inverseOf)}  # declared as the inverse of another
    edges: dict[tuple[str, str], list[str]] = {}
    for prop in sorted(graph.subjects(RDF.type, OWL.ObjectProperty)):
        if not str(prop).startswith(str(SG)) or prop in inverse_of:
            continue
        domain, rng = graph.value(prop, RDFS.domain), graph.value(prop, RDFS.range)
        union = graph.value(domain, OWL.unionOf) if domain is not None else None
        domains = [domain] if isinstance(domain, URIRef) else list(graph.items(union)) if union is not None else []
        if not isinstance(rng, URIRef) or not domains or (union is not None and _local(prop) not in UNION_DOMAINS):
            continue
        target = _stand_in(graph, rng, shown, concepts)
        for member in domains:
            source = _stand_in(graph, member, shown, concepts) if isinstance(member, URIRef) else None
            if source and target and (source != target or source == "Place"):
                names = edges.setdefault((source, target), [])
                names += [] if _local(prop) in names else [_local(prop)]
    return edges


def _positions(shown: dict[str, URIRef]) -> dict[str, tuple[float, float]]:
    rows = max(r for _c, r in LAYOUT.values()) + 1
    extra = [n for n in sorted(shown) if n not in LAYOUT]
    places = {n: LAYOUT[n] for n in shown if n in LAYOUT}
    places.update({n: (i % 5, rows + i // 5) for i, n in enumerate(extra)})
    return {n: (MARGIN + c * CELL_W + BOX_W / 2, MARGIN + r * CELL_H + BOX_H / 2) for n, (c, r) in places.items()}


def _border(center: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward a point leaves the box."""
    (x, y), (tx, ty) = center, toward
    dx, dy = tx - x, ty - y
    scale = min((BOX_W / 2) / abs(dx) if dx else math.inf, (BOX_H / 2) / abs(dy) if dy else math.inf)
    return x + dx * scale, y + dy * scale


def _control(pos: dict, ends: tuple[str, str], start: tuple[float, float], end: tuple[float, float]) -> tuple:
    """The control point of an arrow's curve: a small bend (so arrows both ways between two boxes stay apart),
    larger when a box other than its ends is in the way."""
    (x1, y1), (x2, y2) = start, end
    mx, my, length = (x1 + x2) / 2, (y1 + y2) / 2, math.hypot(x2 - x1, y2 - y1) or 1
    sign = 1 if ends[0] < ends[1] else -1
    others = [p for name, p in pos.items() if name not in ends]
    first = None
    for bend in (18, -18, 55, -55, 95, -95, 140, -140, 200, -200, 260, -260):
        cx, cy = mx - (y2 - y1) / length * bend * sign, my + (x2 - x1) / length * bend * sign
        first = first or (cx, cy)
        steps = [i / 20 for i in range(1, 20)]
        points = [((1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t * t * x2,
                   (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t * t * y2) for t in steps]  # fmt: skip
        inside = all(min(px, py) > MARGIN / 2 for px, py in points)
        if inside and not any(
            abs(px - bx) < BOX_W / 2 + 4 and abs(py - by) < BOX_H / 2 + 4 for px, py in points for bx, by in others
        ):
            return cx, cy
    return first


def _spread(labels: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Labels moved down a line at a time (up to three) while they overlap a label placed before them."""
    placed: list[tuple[float, float, str]] = []
    for x, y, text in labels:
        for _ in range(4):
            clash = any(abs(x - px) < 3.2 * (len(text) + len(pt)) and abs(y - py) < 13 for px, py, pt in placed)
            if not clash:
                break
            y += 13
        placed.append((x, y, text))
    return placed


def diagram_svg(graph: Graph, link_prefix: str = "#") -> str:
    """The SVG text; each box links to ``link_prefix`` + the class's local name (an anchor of the docs page)."""
    shown, concepts = _nodes(graph)
    pos = _positions(shown)
    width = max(x for x, _y in pos.values()) + BOX_W / 2 + MARGIN + 60  # room for the self-loop's label
    height = max(y for _x, y in pos.values()) + BOX_H / 2 + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" font-family="sans-serif" role="img" aria-labelledby="sg-diagram-title">',
        '<title id="sg-diagram-title">sitegraph ontology: main classes and relations</title>',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#445"/></marker>',
        '<marker id="subclass" viewBox="0 0 12 12" refX="12" refY="6" markerWidth="11" markerHeight="11" '
        'orient="auto"><path d="M0,0 L12,6 L0,12 z" fill="#fff" stroke="#888"/></marker>',
        "</defs>",
        '<rect width="100%" height="100%" fill="#fff"/>',
    ]
    for name, cls in sorted(shown.items()):
        for parent in sorted(graph.objects(cls, RDFS.subClassOf)):
            if _local(parent) in shown and isinstance(parent, URIRef):
                (x1, y1), (x2, y2) = _border(pos[name], pos[_local(parent)]), _border(pos[_local(parent)], pos[name])
                out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#888" '
                           'stroke-dasharray="5 3" marker-end="url(#subclass)"/>')  # fmt: skip
    labels = []
    for (source, target), props in sorted(_edges(graph, shown, concepts).items()):
        text = ", ".join(props[:2]) + (f" +{len(props) - 2}" if len(props) > 2 else "")
        if source == target:
            x, y = pos[source]
            out.append(f'<path d="M{x + 40:.1f},{y - BOX_H / 2:.1f} C{x + 70:.1f},{y - 95:.1f} {x + 110:.1f},'
                       f'{y - 60:.1f} {x + BOX_W / 2:.1f},{y - 10:.1f}" fill="none" stroke="#445" '
                       'marker-end="url(#arrow)"/>')  # fmt: skip
            labels.append((x + 80, y - 72, text))
            continue
        (x1, y1), (x2, y2) = _border(pos[source], pos[target]), _border(pos[target], pos[source])
        cx, cy = _control(pos, (source, target), (x1, y1), (x2, y2))
        out.append(f'<path d="M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}" fill="none" '
                   'stroke="#445" marker-end="url(#arrow)"/>')  # fmt: skip
        labels.append(((x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4, text))
    for name in sorted(pos):
        x, y = pos[name]
        en, ru = _label(graph, shown[name], "en"), _label(graph, shown[name], "ru")
        target = link_prefix + name
        out.append(f'<a href="{escape(target)}"><rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" '
                   f'width="{BOX_W}" height="{BOX_H}" rx="6" fill="#eef3fb" stroke="#4a6fa5"/>'
                   f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="14" font-weight="bold" '
                   f'fill="#1d2b44">{escape(en)}</text><text x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle" '
                   f'font-size="11" fill="#555">{escape(ru)}</text></a>')  # fmt: skip
    for x, y, text in _spread(labels):
        out.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" fill="#223" '
                   f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(text)}</text>')  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"
