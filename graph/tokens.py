"""Access tokens for trusted partners: who may write to the graph (reads stay open to everyone).

Tokens are configured by name in a TOML file (setting ``tokens_file``, by default ``instance/tokens.toml`` in the
project, which git ignores). The file keeps only a SHA-256 digest of each token, never the token itself: the
token is shown once, when ``sitegraph token add NAME`` makes it. Tokens are 256 random bits, so a plain digest
is enough (there is nothing to guess); lookups compare digests in constant time.

```toml
[tokens."partner-a"]
sha256 = "9f86d08…"
rights = "write"          # or "read": can authenticate, cannot write
created = "2026-11-22T06:00:00Z"
```
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import UsageError

RIGHTS = ("read", "write")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Token:
    name: str
    sha256: str
    rights: str
    created: str

    @property
    def can_write(self) -> bool:
        return self.rights == "write"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_tokens(path: Path) -> dict[str, Token]:
    """The tokens in ``path`` by name; an absent file means no tokens (nobody can write)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"tokens file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"tokens file {path}: {exc}") from exc
    tokens: dict[str, Token] = {}
    for name, entry in (data.get("tokens") or {}).items():
        if not isinstance(entry, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256", ""))):
            raise UsageError(f"tokens file {path}: token {name!r} needs a sha256 of 64 hex digits")
        rights = entry.get("rights", "write")
        if rights not in RIGHTS:
            raise UsageError(f"tokens file {path}: token {name!r} has rights {rights!r}; choose read or write")
        tokens[name] = Token(name, entry["sha256"], rights, str(entry.get("created", "")))
    return tokens


def save_tokens(path: Path, tokens: dict[str, Token]) -> None:
    """Write the file atomically, readable by its owner only."""
    lines = ["# sitegraph access tokens: SHA-256 digests only (see `sitegraph token --help`)", ""]
    for token in sorted(tokens.values(), key=lambda t: t.name):
        lines += [
            f'[tokens."{token.name}"]',
            f'sha256 = "{token.sha256}"',
            f'rights = "{token.rights}"',
            f'created = "{token.created}"',
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    os.replace(tmp, path)


def add_token(path: Path, name: str, rights: str = "write") -> str:
    """Make a new token called ``name``; returns the token (the only time it is ever shown)."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"token name {name!r}: use letters, digits, '.', '_' or '-' (at most 64 characters)")
    if rights not in RIGHTS:
        raise UsageError(f"rights {rights!r}: choose read or write")
    tokens = load_tokens(path)
    if name in tokens:
        raise UsageError(f"a token named {name!r} exists already in {path}; remove it first to replace it")
    token = "sg_" + secrets.token_urlsafe(32)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tokens[name] = Token(name, digest(token), rights, created)
    save_tokens(path, tokens)
    return token


def remove_token(path: Path, name: str) -> None:
    tokens = load_tokens(path)
    if name not in tokens:
        known = ", ".join(sorted(tokens)) or "none"
        raise UsageError(f"no token named {name!r} in {path} (tokens: {known})")
    del tokens[name]
    save_tokens(path, tokens)


def find_token(tokens: dict[str, Token], presented: str) -> Token | None:
    """The token whose digest matches ``presented``, comparing every digest in constant time."""
    wanted = digest(presented)
    found = None
    for token in tokens.values():
        if hmac.compare_digest(token.sha256, wanted):
            found = token
    return found


class TokenFile:
    """The tokens file, read again when it changes (so ``sitegraph token add`` needs no server restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, ...] | None = None
        self._tokens: dict[str, Token] = {}

    def tokens(self) -> dict[str, Token]:
        try:
            stat = self.path.stat()
            # the inode too: ``save_tokens`` replaces the file (a new inode), so a token removed within the
            # same clock tick and leaving the same size is still noticed at once
            stamp = (stat.st_ino, stat.st_dev, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
        except FileNotFoundError:
            self._stamp, self._tokens = None, {}
            return {}
        if stamp != self._stamp:
            self._tokens = load_tokens(self.path)
            self._stamp = stamp
        return self._tokens

    def find(self, presented: str) -> Token | None:
        return find_token(self.tokens(), presented)
