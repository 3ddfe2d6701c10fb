"""The production launch of the SPARQL endpoint: ``gunicorn -c server/gunicorn.conf.py server.wsgi:app``.

- bind: ``SITEGRAPH_HOST``:``SITEGRAPH_PORT`` (the same settings as ``sitegraph serve``; default 127.0.0.1:8000)
- workers: ``SITEGRAPH_WORKERS``, or two per core this process may run on
- worker class: gthread, ``SITEGRAPH_THREADS`` threads each (default 2). Measured with ``python -m server.bench``
  on 2 cores: the sync worker closes the connection after every answer (no keep-alive) and then waits for the
  client's FIN before it takes the next one, which held it to about half the requests/s of gthread on small
  queries. A second thread lets a worker answer other connections while a long query runs (pyoxigraph releases
  the GIL while it evaluates); more threads measured no better.
- metrics: a fresh ``PROMETHEUS_MULTIPROC_DIR`` where the workers keep their counts for ``/metrics``
- the app is preloaded in the master (settings read once, code shared copy-on-write); each worker opens the
  store read-only on its first request, so no RocksDB handle crosses a fork

Command-line options override this file (``gunicorn -c server/gunicorn.conf.py -w 4 -k gthread …``).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from graph.config import load_config

_config = load_config()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = f"{_config.host}:{_config.port}"
workers = int(os.environ.get("SITEGRAPH_WORKERS") or 2 * _cores())
worker_class = "gthread"
threads = int(os.environ.get("SITEGRAPH_THREADS") or 2)
preload_app = True
timeout = 60  # a worker whose main loop is stuck this long is replaced (a query running in a thread is not)
# on SIGTERM / HUP, requests in flight get this long to finish (SITEGRAPH_GRACEFUL_TIMEOUT, default 20 s)
graceful_timeout = int(os.environ.get("SITEGRAPH_GRACEFUL_TIMEOUT") or 20)
keepalive = 5  # seconds an idle keep-alive connection is kept open
max_requests = 0  # workers hold no per-request state that grows: no periodic recycling
accesslog = None  # per-request logging costs throughput; enable with --access-logfile - when needed
errorlog = "-"
loglevel = "info"
proc_name = "sitegraph"

# The workers' counts for /metrics (server/ops.py) go to one folder, added up at each scrape: a fresh one per
# start, set before the app (and prometheus_client, which reads it on import) is loaded.
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sitegraph-metrics-")


def on_exit(server) -> None:  # gunicorn hook: the master is stopping
    shutil.rmtree(_metrics_dir, ignore_errors=True)
