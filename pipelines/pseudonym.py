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


def hmac_sql(key: bytes, expr: str) -> tuple[str, list[bytes]]:
    """SQL computing `pseudonymise` of a text expression inside DuckDB (RFC 2104 HMAC from two
    sha256 calls), with its bound parameters: no round trip of the ids through Python, and
    DuckDB spreads the hashing over every core."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)
    return (f"'h' || left(sha256(CAST(? AS BLOB) || unhex(sha256(CAST(? AS BLOB) "
            f"|| encode(CAST(({expr}) AS VARCHAR))))), 20)", [outer, inner])
