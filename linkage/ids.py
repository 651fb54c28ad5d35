"""Keyed pseudonyms: DTSEN IDs and record pseudonyms as an HMAC of a source key.

HMAC-SHA256 (RFC 2104) written with Spark built-ins (``sha2`` over binary), so it runs
in the JVM on every executor with no Python UDF. Without the secret an ID cannot be
recomputed from a NIK, so a table of IDs reveals no NIK even to someone holding a list
of NIKs; the same secret always gives the same ID, so IDs are deterministic.
"""

from __future__ import annotations

import hashlib

from pyspark.sql import Column
from pyspark.sql import functions as F

_BLOCK = 64  # SHA-256's block size in bytes


def _pads(secret: str) -> tuple[bytes, bytes]:
    key = secret.encode("utf-8")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(value: Column, secret: str) -> Column:
    """Hex HMAC-SHA256 of ``value`` (as UTF-8 text) under ``secret``; null stays null."""
    inner_pad, outer_pad = _pads(secret)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), value.cast("string").cast("binary")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def stable_id(prefix: str, key: Column, secret: str) -> Column:
    """``<prefix>`` + the first 16 hex digits (64 bits) of HMAC-SHA256(secret, key), upper case."""
    return F.concat(F.lit(prefix), F.upper(F.substring(hmac_sha256(key, secret), 1, 16)))
