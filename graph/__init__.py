"""sitegraph: a knowledge graph of industrial and innovation infrastructure.

The package turns the curated sources in ``graph/sources`` into an RDF dataset, validates it against the
SHACL shapes in ``shapes/`` and writes it to an embedded pyoxigraph store (see :func:`graph.build.build`).
"""

__version__ = "0.1.0"
