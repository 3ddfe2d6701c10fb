"""Figures: the ``observations:`` of an article's file become sg:Observation nodes with readable labels."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDF

from .namespaces import SG
from .ontology import Ontology
from .source_model import (
    OBSERVATION_KEYS,
    SLUG_RE,
    Origin,
    as_list,
    parse_date,
)
from .yamlio import Node


class ObservationsMixin:
    """Reads ``observations:`` for :class:`graph.source_documents.DocumentReader` (its reader, graph, quotes)."""

    def read_observation(self, obs: Any, line: int) -> None:
        r, file, g = self.r, self.file, self.graph
        if not isinstance(obs, Node):
            r.problem(file, line, self.slug, None, "an observation is a mapping (- id: …)")
            return
        oid = obs.get("id")
        if not isinstance(oid, str) or not SLUG_RE.match(oid):
            r.problem(
                file, obs.line_of("id"), None, "id", f"{oid!r} is not an observation id (lower-case words joined by -)"
            )
            return
        name = f"observation {oid}"
        r._check_keys(obs, OBSERVATION_KEYS, file, name, "an observation")
        node = URIRef(r.iris.entity(f"observation/{self.slug}-{oid}"))
        if (node, RDF.type, SG.Observation) in g:
            r.problem(file, obs.line_of("id"), name, "id", "duplicate observation id in this document")
            return
        r.subject_origins[node] = Origin(file, obs.line, name, None)
        at = lambda key: obs.line_of(key)  # noqa: E731
        g.add((node, RDF.type, SG.Observation))
        g.add((node, PROV.wasDerivedFrom, self.doc))
        about = r._ref(obs.get("about"), file, at("about"), name, "about")
        if about is not None:
            g.add((node, SG.observationAbout, about))
        measure = r._concept(f"measure:{obs.get('measure')}", file, at("measure"), name, "measure")
        if measure is not None:
            g.add((node, SG.measure, measure))
        for key, prop in (("value", SG.value), ("min", SG.minValue), ("max", SG.maxValue)):
            if key in obs:
                number = r._number(obs[key], file, at(key), name, key)
                if number is not None:
                    g.add((node, prop, number))
                    r.fact_origins[(node, prop)] = Origin(file, at(key), name, key)
        if not {"value", "min", "max"} & set(obs):
            r.problem(file, obs.line, name, "value", "an observation needs value, min or max")
        qualifiers = as_list(obs.get("qualifier"))
        if not qualifiers:
            r.problem(
                file,
                obs.line,
                name,
                "qualifier",
                "give a qualifier: exact, approximately, more-than, at-least, up-to, less-than, almost, planned",
            )
        for q in qualifiers:
            concept = r._concept(f"qualifier:{q}", file, at("qualifier"), name, "qualifier")
            if concept is not None:
                g.add((node, SG.qualifier, concept))
        r.fact_origins[(node, SG.qualifier)] = Origin(file, at("qualifier"), name, "qualifier")
        if "stated_as" in obs:
            for lit in r._lang_map(obs["stated_as"], file, at("stated_as"), name, "stated_as", self.record.language):
                g.add((node, SG.statedAs, lit))
        if "unit" in obs:
            g.add((node, SG.unitText, Literal(str(obs["unit"]))))
        if "currency" in obs:
            currency = str(obs["currency"])
            if not re.fullmatch(r"[A-Z]{3}", currency):
                r.problem(file, at("currency"), name, "currency", f"{currency!r} is not an ISO 4217 code (USD, RUB …)")
            g.add((node, SG.currency, Literal(currency)))
        if "time" in obs:
            date = parse_date(obs["time"])
            if date is None:
                r.problem(
                    file,
                    at("time"),
                    name,
                    "time",
                    f"{obs['time']!r} is not a date (2024-08-14, 2024-08, 2024, --02-02, --10)",
                )
            else:
                g.add((node, SG.referenceTime, date))
        if "time_note" in obs:
            for lit in r._lang_map(obs["time_note"], file, at("time_note"), name, "time_note", self.record.language):
                g.add((node, SG.timeNote, lit))
        if "scope" in obs:
            scope = r._ref(obs["scope"], file, at("scope"), name, "scope")
            if scope is not None:
                g.add((node, SG.spatialScope, scope))
        if "note" in obs:
            for lit in r._lang_map(obs["note"], file, at("note"), name, "note", "en"):
                g.add((node, SG.note, lit))
        quote = self.use_quote(obs.get("quote"), at("quote"), name, "quote")
        if quote is not None:
            g.add((node, SG.evidence, quote))
        self.pending_observations.append((node, obs))

    # end of document ------------------------------------------------------------------


def observation_labels(onto: Ontology, entity_labels: dict[str, dict[str, str]], obs: Node) -> list[Literal]:
    """A readable label such as 'Number of technoparks — Russia: more than 300'."""
    from .namespaces import MEASURE, QUALIFIER

    out = []
    about = str(obs.get("about"))
    qualifiers = [str(q) for q in as_list(obs.get("qualifier"))]
    for lang in ("en", "ru"):
        measure = onto.label(MEASURE[str(obs.get("measure"))], lang)
        subject = entity_labels.get(about, {}).get(lang, about)
        if "value" in obs:
            amount = _fmt(obs["value"])
        else:
            parts = [_fmt(obs[k]) for k in ("min", "max") if k in obs]
            amount = "–".join(parts)
        words = [_lower_first(onto.label(QUALIFIER[q], lang)) for q in qualifiers if q != "exact"]
        # unit texts are English words; a Russian label shows only the currency code
        unit = (
            f" {obs['currency']}"
            if "currency" in obs
            else (f" {obs['unit']}" if "unit" in obs and lang == "en" else "")
        )
        text = f"{measure} — {subject}: {' '.join(words) + ' ' if words else ''}{amount}{unit}"
        out.append(Literal(text, lang=lang))
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _fmt(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number:,f}".replace(",", " ") if number == number.to_integral() else str(number)
