"""The WSGI entry point for production servers: ``gunicorn -c server/gunicorn.conf.py server.wsgi:app``.

The settings are read once, when the module is imported (with ``preload_app`` that is in the gunicorn master,
before the workers fork); the store itself is opened lazily, by each worker on its first request.
"""

from __future__ import annotations

from . import create_app

app = create_app()
