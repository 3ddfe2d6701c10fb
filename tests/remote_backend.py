"""The session's build pushed to a real remote store, and the settings that serve it with ``store = remote``.

Used by the ``served_config`` fixture in ``tests/conftest.py`` (``pytest --store-backend oxigraph|virtuoso``) and
by ``tests/test_remote_backend.py``. The build is pushed once per server and session, with ``sitegraph push``'s
own code, so the endpoint tests run against exactly what a deployment would hold.
"""

from __future__ import annotations

from typing import Any

from graph.config import Config, load_config
from graph.push import push_release
from tests.remote_servers import RemoteStore

_PUSHED: set[tuple[str, str]] = set()  # (server, build folder) pairs already pushed in this session
PASSWORD_VARIABLE = "SITEGRAPH_TEST_REMOTE_PASSWORD"


def push_build(config: Config, remote: RemoteStore) -> None:
    """Push the release in ``config``'s build folder to ``remote`` (each graph replaced)."""
    environ = {PASSWORD_VARIABLE: remote.password} if remote.password else {}
    push_release(
        config,
        query_url=remote.query_url,
        gsp_url=remote.gsp_url,
        update_url=remote.update_url,
        auth=remote.auth,
        user=remote.user,
        password_env=PASSWORD_VARIABLE if remote.password else None,
        timeout_s=60.0,
        retries=1,
        environ=environ,
    )


def remote_settings(remote: RemoteStore, **extra: Any) -> dict[str, Any]:
    """Settings for ``store = remote`` on ``remote``'s public (unauthenticated) query endpoint."""
    return {"store": "remote", "remote_query_url": remote.query_url, "remote_timeout": 30, **extra}


def remote_config_for(config: Config, remote: RemoteStore, **extra: Any) -> Config:
    """``config`` served from ``remote``, after pushing its build there (once per session)."""
    key = (remote.base_url, str(config.path("build_dir")))
    if key not in _PUSHED:
        push_build(config, remote)
        _PUSHED.add(key)
    overrides = {"project_dir": config.project_dir, "build_dir": str(config.path("build_dir"))}
    return load_config(overrides={**overrides, **remote_settings(remote, **extra)}, environ={})
