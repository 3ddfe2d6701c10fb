"""The ontology editors' tools: reasoning (HermiT), lint, documentation, version diff and release checks.

- ``reasoning``, ``reason_command``, ``explain``, ``manchester``: ``sitegraph reason`` and its explanations
- ``lint``, ``lint_terms``, ``lint_report``: ``sitegraph lint``
- ``docs``, ``docs_html``, ``diagram``, ``shape_text``, ``release_docs``: generated documentation (also in releases)
- ``diff``, ``diff_report``, ``revisions``: ``sitegraph diff`` and the release check
- ``inputs``, ``locate``: reading the project's files and pointing at lines in them
- ``cli_editors``: the commands, registered on the ``sitegraph`` group
"""
