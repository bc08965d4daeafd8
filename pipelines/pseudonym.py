"""Keyed hashing of client identifiers: the warehouse never holds the bank's raw client ids."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "pseudonym.key"


def load_key(secret_dir: Path) -> bytes:
    """The installation's key, generated on first use and kept out of git (data/.secret/)."""
    path = secret_dir / KEY_FILE
    if not path.exists():
        secret_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        os.replace(tmp, path)
    return bytes.fromhex(path.read_text().strip())


def pseudonymise(key: bytes, value: str) -> str:
    return "h" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
