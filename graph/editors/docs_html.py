"""The documentation as one self-contained HTML file (``ontology.html`` in every release): styles and the diagram
inline, links between terms as anchors, examples linked to their IRIs. Same bytes for the same input."""

from __future__ import annotations

import re

from jinja2 import Environment
from markupsafe import Markup, escape

from .docs import OntologyDoc


def term_links(text: str) -> Markup:
    """``sg:Site or sg:Project`` with each sg: term linked to its anchor on the page."""
    escaped = str(escape(text))
    return Markup(re.sub(r"\bsg:([A-Za-z][\w-]*)", r'<a href="#\1"><code>sg:\1</code></a>', escaped))


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ doc.title }} {{ doc.version }}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem; color: #1d2b44; }
code { font-size: 0.92em; } a { color: #23528f; }
h2 { border-bottom: 2px solid #4a6fa5; margin-top: 2.5rem; } h3 { margin-bottom: 0.2rem; }
.term { border-top: 1px solid #dde3ee; padding: 0.4rem 0 0.8rem; }
.names { color: #555; margin: 0; } .muted { color: #666; } .deprecated { color: #a33; font-weight: bold; }
dl { display: grid; grid-template-columns: 10rem 1fr; gap: 0.15rem 1rem; margin: 0.4rem 0; } dt { color: #555; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; margin: 0.4rem 0; }
th, td { border: 1px solid #dde3ee; padding: 0.25rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #eef3fb; } .warning { color: #8a5a00; } .tree { columns: 3; list-style: none; padding: 0; }
.diagram { border: 1px solid #dde3ee; } .diagram svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<header>
<p class="muted"><code>{{ doc.iri }}</code></p>
<h1>{{ doc.title }}</h1>
<p>{{ doc.description }}</p>
<dl>
<dt>Version</dt><dd>{{ doc.version }} (<code>{{ doc.version_iri }}</code>)</dd>
<dt>Licence</dt><dd><a href="{{ doc.license }}">{{ doc.license }}</a></dd>
<dt>Created · modified</dt><dd>{{ doc.created }} · {{ doc.modified }}</dd>
<dt>Files</dt><dd><a href="ontology.owl">ontology.owl</a> (RDF/XML, for Protégé, with
  <a href="catalog-v001.xml">catalog-v001.xml</a>) · <a href="sitegraph.trig">sitegraph.trig</a> (all data)</dd>
</dl>
</header>
<nav><a href="#diagram">Diagram</a>
{%- for anchor, title, terms in doc.sections %} · <a href="#{{ anchor }}">{{ title }} ({{ terms|length }})</a>
{%- endfor %} · <a href="#concept-schemes">Concept schemes</a></nav>
<section id="diagram"><h2>Main classes and relations</h2>
<div class="diagram">{{ svg }}</div>
<p class="muted">Dashed arrows with hollow heads: subclass of. Labelled arrows: object properties (domain → range).</p>
<h3>Class hierarchy</h3>
<ul class="tree">{% for depth, anchor in doc.tree %}<li style="padding-left: {{ depth * 1.1 }}rem">
<a href="#{{ anchor }}">{{ anchor }}</a></li>{% endfor %}</ul>
</section>
{% for anchor, title, terms in doc.sections %}
<section id="{{ anchor }}"><h2>{{ title }}</h2>
{% for t in terms %}
<div class="term" id="{{ t.anchor }}">
<h3><code>{{ t.curie }}</code> — {{ t.labels.get('en', '') }}
{%- if t.deprecated %} <span class="deprecated">deprecated</span>{% endif %}</h3>
<p class="names" lang="ru">{{ t.labels.get('ru', '') }}
{%- for lang, names in t.alt.items() %}{% for n in names %} · <span lang="{{ lang }}">{{ n }}</span>{% endfor %}
{%- endfor %}</p>
{% if t.definition %}<p>{{ t.definition }}</p>{% endif %}
{% for c in t.comments %}<p class="muted">{{ c }}</p>{% endfor %}
<dl>
<dt>IRI</dt><dd><code>{{ t.iri }}</code></dd>
{{ row('Subclass of' if t.kind == 'classes' else 'Subproperty of', t.parents) }}
{{ row('Subclasses', t.children) }}
{{ row('Disjoint with', t.disjoint) }}
{{ row('Domain', t.domain) }}
{{ row('Range', t.range) }}
{{ row('Inverse of', t.inverse) }}
{{ row('Characteristics', t.characteristics) }}
{% if t.kind == 'classes' %}<dt>Example</dt><dd>
{%- if t.example %}<a href="{{ t.example.iri }}">{{ t.example.label }}</a>
<code class="muted">{{ t.example.iri }}</code>
{%- else %}<span class="muted">no instance in this release</span>{% endif %}</dd>{% endif %}
</dl>
{% if t.kind == 'classes' %}
{% for note in t.shape_notes %}<p class="muted">Shape: {{ note }}</p>{% endfor %}
{% if t.constraints %}{{ table(t.constraints) }}
{%- else %}<p class="muted">No SHACL constraints of its own.</p>{% endif %}
{% if t.inherited %}<p>Instances also meet the constraints of their superclasses:
{% for cls, count in t.inherited %}{{ cls|links }} ({{ count }}){% if not loop.last %}, {% endif %}{% endfor %}.</p>
{%- endif %}
{% endif %}
</div>
{% endfor %}
</section>
{% endfor %}
<section id="concept-schemes"><h2>Concept schemes</h2>
{% for s in doc.schemes %}<div class="term" id="{{ s.anchor }}">
<h3><code>{{ s.iri }}</code> — {{ s.labels.get('en', '') }}</h3>
<p class="names" lang="ru">{{ s.labels.get('ru', '') }}</p>{% if s.definition %}<p>{{ s.definition }}</p>{% endif %}
<ul>{% for iri, labels in s.concepts %}<li><code>{{ iri.rsplit('/', 1)[-1] }}</code> — {{ labels.get('en', '') }}
· <span lang="ru">{{ labels.get('ru', '') }}</span></li>{% endfor %}</ul></div>
{% endfor %}
</section>
</body>
</html>
"""

TABLE = """<table><thead><tr><th>Shape</th><th>Path</th><th>Requires</th><th>Severity</th><th>If not: message</th>
</tr></thead><tbody>{% for c in items %}<tr><td><code>{{ c.shape }}</code></td>
<td>{{ (c.path or '(the node itself)')|links }}</td><td>{{ c.text|links }}</td>
<td class="{{ c.severity }}">{{ c.severity }}</td><td>{{ c.message }}</td></tr>{% endfor %}</tbody></table>"""

ROW = """{% if values %}<dt>{{ title }}</dt><dd>{{ values|map('links')|join(', ') }}</dd>{% endif %}"""


def render_html(doc: OntologyDoc, svg: str) -> str:
    env = Environment(autoescape=True, keep_trailing_newline=True)
    env.filters["links"] = term_links
    table = env.from_string(TABLE)
    row = env.from_string(ROW)
    env.globals["table"] = lambda items: Markup(table.render(items=items))
    env.globals["row"] = lambda title, values: Markup(row.render(title=title, values=values))
    return env.from_string(TEMPLATE).render(doc=doc, svg=Markup(svg))
