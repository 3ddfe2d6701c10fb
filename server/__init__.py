"""The HTTP side of sitegraph (SPARQL endpoint, linked-data pages, query UI).

Not built yet: the SPARQL endpoint is the next issue ("SPARQL endpoint and linked-data server"). Until then
the graph is queried with ``sitegraph query``; this package exists so the layout of the project is settled.
"""
