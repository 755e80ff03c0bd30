"""Stable fingerprints: of a normalized payload, and of a row's raw values.

Both are plain functions over plain data. The *fingerprint* says whether what we would
write differs from what we wrote last time; the *raw hash* lets the planner skip
normalizing a row whose mapped cells did not change since the last run.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: equal data gives equal text."""
    return _CANONICAL.encode(data)


def fingerprint(payload: Mapping[str, Any]) -> str:
    """sha256 (hex) of a payload's canonical JSON."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def mapping_seed(description: Any) -> bytes:
    """A 16-byte key that changes whenever the mapping (or the field types) change.

    Raw hashes are keyed with it, so editing the mapping makes every row look changed
    once, and the planner re-normalizes it.
    """
    return hashlib.blake2b(canonical_json(description).encode("utf-8"), digest_size=16).digest()


def raw_hash(texts: Sequence[str], seed: bytes) -> str:
    """A short keyed hash of a row's mapped cells (as text)."""
    return raw_hasher(seed)(texts)


def raw_hasher(seed: bytes) -> Callable[[Sequence[str]], str]:
    """:func:`raw_hash` with the seed bound, for the planner's per-row loop.

    Copying a keyed hash object is cheaper than keying a new one for every row, and
    text without lone surrogates (all text a codec decoded) needs no error handler.
    """
    keyed = hashlib.blake2b(digest_size=8, key=seed)
    copy = keyed.copy
    join = "\x1f".join

    def digest(texts: Sequence[str]) -> str:
        joined = join(texts)
        try:
            data = joined.encode()
        except UnicodeEncodeError:
            data = joined.encode("utf-8", "surrogatepass")
        h = copy()
        h.update(data)
        return h.hexdigest()

    return digest


def row_hasher(seed: bytes, indices: Sequence[int]) -> Callable[[Sequence[Any]], str]:
    """The raw hash of a row's cells at ``indices``, one call per row (the planner's loop).

    Exactly :func:`raw_hash` of the cells' text. Cells that are not all text (SQL values)
    are hashed by their ``repr``, ``None`` as a NUL character.
    """
    digest = raw_hasher(seed)
    copy = hashlib.blake2b(digest_size=8, key=seed).copy

    def not_text(picked: Sequence[Any]) -> str:
        return digest(tuple("\x00" if v is None else repr(v) for v in picked))

    if len(indices) == 1:
        (i,) = indices

        def one(values: Sequence[Any]) -> str:
            value = values[i]
            if type(value) is not str:
                return not_text((value,))
            h = copy()
            try:
                h.update(value.encode())
            except UnicodeEncodeError:
                h.update(value.encode("utf-8", "surrogatepass"))
            return h.hexdigest()

        return one
    pick = operator.itemgetter(*indices)
    join = "\x1f".join

    def many(values: Sequence[Any]) -> str:
        picked = pick(values)
        try:
            joined = join(picked)
        except TypeError:
            return not_text(picked)
        h = copy()
        try:
            h.update(joined.encode())
        except UnicodeEncodeError:
            h.update(joined.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    return many
