"""``sitegraph lint``: a quality report on the ontology, the shapes, the queries and the data, in the spirit of
ROBOT ``report`` and tuned to this project. Errors fail the command (exit 1); warnings and info do not.

Rules (level — rule — what it finds):

- error — ``ontology-metadata``: no owl:Ontology, owl:versionInfo, owl:versionIRI (ending in the version),
  dcterms:title/description/license/created/modified; ``imports``: an owl:imports that cannot resolve offline
- error — ``missing-label-en`` / ``missing-label-ru`` / ``missing-definition``: an sg: term without rdfs:label@en
  and skos:prefLabel@en, without skos:prefLabel@ru, without skos:definition@en (concepts and schemes: labels in
  both languages are errors, a missing definition a warning); ``multiple-labels``: two labels in one language
- error — ``missing-domain`` / ``missing-range``: an sg: object or datatype property without one
- error — ``undeclared-term``: an sg: term or a vocabulary concept used in the ontology, the data (the release),
  the shapes or the queries (queries/*.rq) but not declared in ontology/
- error — ``shape-unknown-class`` / ``shape-unknown-path``: sh:targetClass or sh:class naming no class of the
  ontology; sh:path (or sh:targetSubjectsOf/ObjectsOf) naming no property of it
- error — ``class-without-shape``: an sg: class no node shape targets (sh:targetClass)
- error — ``duplicate-label``: one label (same text and language) on two classes or properties, or on two concepts
  of one scheme; a warning for concepts of different schemes
- error — ``deprecated-term-used``: a term marked owl:deprecated true still used in the data, shapes or queries
- error — ``concept-without-scheme``: a concept in no skos:inScheme
- warning — ``label-whitespace``: a label or definition with leading, trailing or doubled spaces
- info — ``unused-term``: an sg: class or property that no data uses
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS, XSD

from ..config import Config
from ..errors import Problem, SitegraphError
from ..namespaces import ONTOLOGY_IRI, SG, VOCAB, DataIRIs
from ..validation import load_shapes
from .inputs import DataInput, load_data, read_ontology_files
from .lint_terms import Use, data_terms, path_properties, query_terms, shape_owners, shape_terms
from .locate import Locator, curie

LEVELS = ("error", "warning", "info")
BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD))


@dataclass(frozen=True)
class Finding:
    level: str
    rule: str
    term: str
    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class LintFailed(SitegraphError):
    """lint found errors (exit 1)."""

    exit_code = 1

    def __init__(self, findings: list[Finding]) -> None:
        self.problems = [_as_problem(f) for f in findings]
        super().__init__("\n".join(str(p) for p in self.problems))


def _as_problem(finding: Finding) -> Problem:
    path, _, line = finding.where.rpartition(":")
    located = (path, int(line)) if path and line.isdigit() else (finding.where, None)
    return Problem(located[0], located[1], finding.term, finding.rule, finding.message)


@dataclass
class Project:
    """Everything lint reads."""

    ontology: Graph
    shapes: Graph
    queries: list[Path]
    data: DataInput | None
    locate: Locator
    iris: DataIRIs

    def name(self, term: object) -> str:
        return curie(term, self.iris)


def read_project(config: Config, data: str = "release") -> Project:
    """``data``: "release" (the current build), "compile" (the sources, in memory) or "none"."""
    iris = DataIRIs(config.base_iri)
    ontology, _files = read_ontology_files(config.project / "ontology")
    shapes = load_shapes(config.project / "shapes")
    queries = sorted((config.project / "queries").glob("*.rq"))
    loaded = None if data == "none" else load_data(config, compile_sources=data == "compile")
    return Project(ontology, shapes, queries, loaded, Locator(config.project, iris), iris)


def _texts(graph: Graph, term: object, prop: URIRef) -> list[Literal]:
    return [o for o in graph.objects(term, prop) if isinstance(o, Literal)]


def _langs(graph: Graph, term: object, prop: URIRef) -> list[str]:
    return [o.language or "" for o in _texts(graph, term, prop)]


def check_metadata(p: Project) -> Iterable[Finding]:
    g, onto = p.ontology, URIRef(ONTOLOGY_IRI)
    where = p.locate.term(onto)
    if (onto, RDF.type, OWL.Ontology) not in g:
        yield Finding("error", "ontology-metadata", p.name(onto), where, f"no `<{ONTOLOGY_IRI}> a owl:Ontology`")
        return
    version, version_iri = g.value(onto, OWL.versionInfo), g.value(onto, OWL.versionIRI)
    if version is None or version_iri is None:
        yield Finding("error", "ontology-metadata", "owl:versionInfo", where, "add owl:versionInfo and owl:versionIRI")
    elif str(version_iri) != f"{ONTOLOGY_IRI}/{version}":
        message = f"owl:versionIRI is <{version_iri}>; for version {version} it must be <{ONTOLOGY_IRI}/{version}>"
        yield Finding("error", "ontology-metadata", "owl:versionIRI", where, message)
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.created, DCTERMS.modified):
        if g.value(onto, prop) is None:
            message = f"the ontology header has no {p.name(prop)}"
            yield Finding("error", "ontology-metadata", p.name(prop), where, message)
    for imported in g.objects(None, OWL.imports):
        message = f"owl:imports <{imported}> cannot resolve offline: nothing is imported here; declare what you use"
        yield Finding("error", "imports", p.name(imported), where, message)


def _declared(p: Project) -> dict[URIRef, set[URIRef]]:
    found: dict[URIRef, set[URIRef]] = defaultdict(set)
    for s, o in p.ontology.subject_objects(RDF.type):
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            found[s].add(o)
    return found


def _is_ours(term: object) -> bool:
    return isinstance(term, URIRef) and (str(term).startswith(str(SG)) or str(term).startswith(VOCAB))


def check_terms(p: Project) -> Iterable[Finding]:
    """Labels, definitions, domains and ranges of sg: terms; labels and schemes of concepts."""
    g, declared = p.ontology, _declared(p)
    kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
    for term, types in sorted(declared.items()):
        where, name = p.locate.term(term), p.name(term)
        is_term = str(term).startswith(str(SG)) and bool(types & kinds)
        is_concept = _is_ours(term) and bool(types & {SKOS.Concept, SKOS.ConceptScheme})
        if not (is_term or is_concept):
            continue
        if is_term and ("en" not in _langs(g, term, RDFS.label) or "en" not in _langs(g, term, SKOS.prefLabel)):
            yield Finding("error", "missing-label-en", name, where, "add rdfs:label and skos:prefLabel in English")
        if "ru" not in _langs(g, term, SKOS.prefLabel):
            yield Finding("error", "missing-label-ru", name, where, 'add skos:prefLabel "…"@ru')
        if "en" not in _langs(g, term, SKOS.definition):
            level = "error" if is_term else "warning"
            yield Finding(level, "missing-definition", name, where, 'add skos:definition "…"@en')
        for prop in (RDFS.label, SKOS.prefLabel):
            langs = _langs(g, term, prop)
            for lang in sorted({x for x in langs if langs.count(x) > 1}):
                message = f"{langs.count(lang)} {p.name(prop)} in @{lang}: keep one, move the others to skos:altLabel"
                yield Finding("error", "multiple-labels", name, where, message)
        if types & {OWL.ObjectProperty, OWL.DatatypeProperty} and is_term:
            for prop, rule in ((RDFS.domain, "missing-domain"), (RDFS.range, "missing-range")):
                if g.value(term, prop) is None:
                    yield Finding("error", rule, name, where, f"the property has no {p.name(prop)}")
        if SKOS.Concept in types and g.value(term, SKOS.inScheme) is None:
            yield Finding("error", "concept-without-scheme", name, where, "add skos:inScheme <…/vocab/<scheme>>")
        for prop in (RDFS.label, SKOS.prefLabel, SKOS.definition):
            for text in _texts(g, term, prop):
                if str(text) != str(text).strip() or "  " in str(text):
                    message = f"{p.name(prop)} {text.n3()} has leading, trailing or doubled spaces"
                    yield Finding("warning", "label-whitespace", name, where, message)


def check_duplicate_labels(p: Project) -> Iterable[Finding]:
    g, declared = p.ontology, _declared(p)
    labelled: dict[tuple[str, str], set[URIRef]] = defaultdict(set)
    for prop in (RDFS.label, SKOS.prefLabel):
        for s, o in g.subject_objects(prop):
            if _is_ours(s) and isinstance(o, Literal):
                labelled[(str(o), o.language or "")].add(s)
    for (text, lang), terms in sorted(labelled.items()):
        if len(terms) < 2:
            continue
        ordered = sorted(terms)
        schemes = {g.value(t, SKOS.inScheme) for t in ordered}
        concepts = all(SKOS.Concept in declared[t] for t in ordered)
        level = "warning" if concepts and len(schemes) > 1 else "error"
        names = ", ".join(p.name(t) for t in ordered)
        message = f'"{text}"@{lang} labels {names}: give each its own label' + (
            " (allowed across schemes, but ambiguous in pickers)" if level == "warning" else ""
        )
        yield Finding(level, "duplicate-label", p.name(ordered[0]), p.locate.term(ordered[1]), message)


def uses(p: Project) -> list[Use]:
    found: list[Use] = []
    for query in p.queries:
        found += query_terms(query, p.locate.project)
    found += shape_terms(p.shapes, p.locate)
    if p.data is not None:
        found += data_terms(p.data, p.locate)
    for s, pr, o in p.ontology:
        for term in (s, pr, o):
            if isinstance(term, URIRef):
                found.append(Use(term, p.locate.term(s), "ontology"))
    return found


def check_uses(p: Project, all_uses: list[Use]) -> Iterable[Finding]:
    declared = set(_declared(p)) | {URIRef(ONTOLOGY_IRI)}
    deprecated = {s for s, o in p.ontology.subject_objects(OWL.deprecated) if str(o).lower() in ("true", "1")}
    reported: set[tuple[URIRef, str]] = set()
    for use in all_uses:
        key = (use.term, use.where.rsplit(":", 1)[0] if use.context == "data" else use.where)
        if key in reported:
            continue
        if _is_ours(use.term) and use.term not in declared and str(use.term) not in (str(SG), VOCAB):
            reported.add(key)
            message = f"used in the {use.context} but not declared in ontology/: declare it, or fix the spelling"
            yield Finding("error", "undeclared-term", p.name(use.term), use.where, message)
        elif use.term in deprecated and use.context != "ontology":
            reported.add(key)
            replaced = p.ontology.value(use.term, DCTERMS.isReplacedBy)
            hint = f"use {p.name(replaced)} instead" if replaced is not None else "replace it"
            message = f"deprecated (owl:deprecated true) but still used in the {use.context}: {hint}"
            yield Finding("error", "deprecated-term-used", p.name(use.term), use.where, message)


def check_shapes(p: Project) -> Iterable[Finding]:
    declared = _declared(p)
    classes = {t for t, types in declared.items() if types & {OWL.Class, RDFS.Class}}
    properties = {t for t, types in declared.items() if types & {OWL.ObjectProperty, OWL.DatatypeProperty,
                                                                 OWL.AnnotationProperty, RDF.Property}}  # fmt: skip
    s, owner = p.shapes, shape_owners(p.shapes)
    for shape, cls in sorted((a, b) for pr in (SH.targetClass, SH["class"]) for a, b in s.subject_objects(pr)):
        if isinstance(cls, URIRef) and cls not in classes:
            message = f"the shape targets or requires {p.name(cls)}, which is no class of the ontology"
            yield Finding("error", "shape-unknown-class", p.name(cls), p.locate.shape(owner.get(shape, shape)), message)
    paths = [(a, b) for pr in (SH.targetSubjectsOf, SH.targetObjectsOf) for a, b in s.subject_objects(pr)]
    paths += [(a, prop) for a, path in s.subject_objects(SH.path) for prop in path_properties(s, path)]
    for shape, prop in sorted(set(paths), key=lambda pair: (str(owner.get(pair[0], pair[0])), str(pair[1]))):
        if isinstance(prop, URIRef) and prop not in properties and not str(prop).startswith(BUILT_IN):
            message = f"the shape's path uses {p.name(prop)}, which is no property of the ontology"
            yield Finding("error", "shape-unknown-path", p.name(prop), p.locate.shape(owner.get(shape, shape)), message)
    targeted = set(s.objects(None, SH.targetClass))
    for cls in sorted(c for c in classes if str(c).startswith(str(SG)) and c not in targeted):
        message = f"no node shape targets it: add sgsh:{str(cls)[len(str(SG)) :]}Shape to shapes/ with examples"
        yield Finding("error", "class-without-shape", p.name(cls), p.locate.term(cls), message)


def check_unused(p: Project, all_uses: list[Use]) -> Iterable[Finding]:
    if p.data is None:
        return
    used = {u.term for u in all_uses if u.context == "data"} | set(p.ontology.objects(None, RDF.type))
    kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty}
    for term, types in sorted(_declared(p).items()):
        if str(term).startswith(str(SG)) and types & kinds and term not in used:
            yield Finding("info", "unused-term", p.name(term), p.locate.term(term), "declared, but no data uses it")


def lint(project: Project) -> list[Finding]:
    all_uses = uses(project)
    findings = [
        *check_metadata(project),
        *check_terms(project),
        *check_duplicate_labels(project),
        *check_uses(project, all_uses),
        *check_shapes(project),
        *check_unused(project, all_uses),
    ]
    return sorted(set(findings), key=lambda f: (LEVELS.index(f.level), f.rule, *_place(f.where), f.term, f.message))


def _place(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (where, 0)
