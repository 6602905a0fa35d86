"""The key contract for one key: how a key becomes the bytes that are hashed (or, for
routers that take integers as they are, its uint64 bits), and the errors that name a key.

This is the pure spelling. The compiled one is ``_keycontract.pxd`` (its fast paths
for str, bytes and int), which hands every other key, and every failure, to
:func:`key_bytes` here: one source of truth for conversions and messages.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

UINT64_MASK = 0xFFFFFFFFFFFFFFFF
KEY_MIN = -(2**63)
KEY_LIMIT = 2**64  # exclusive

KEY_TYPES_HINT = "keys must be str, bytes, bytearray, contiguous memoryview or int"


_E = TypeVar("_E", bound=Exception)


def at_position(error: _E, position: int | None) -> _E:
    """``error`` with ``error.position`` set: which key it is about (None: one key).

    Callers that feed keys in batches (``fastring route``) turn it into a line number."""
    error.position = position  # type: ignore[attr-defined]
    return error


def _where(position: int | None) -> str:
    return "key" if position is None else f"key at position {position}"


def key_type_error(position: int | None, key: Any) -> TypeError:
    kind = type(key)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    hint = ""
    if isinstance(key, (float, np.floating)):
        hint = " (floats are never keys: convert them explicitly, e.g. with int() or str())"
    return at_position(TypeError(f"{_where(position)} has unsupported type {name}: {KEY_TYPES_HINT}{hint}"), position)


class MissingKeyError(ValueError):
    """A null (Arrow null, pandas NA) where a key is needed."""


def missing_key_error(position: int) -> MissingKeyError:
    return at_position(MissingKeyError(f"{_where(position)} is null/missing; nulls cannot be routed"), position)


def _int_bits(value: int, position: int | None) -> int:
    """An int's uint64 bits (two's complement below 0), or the key contract's OverflowError."""
    if not KEY_MIN <= value < KEY_LIMIT:
        raise at_position(
            OverflowError(f"{_where(position)} is {value}, outside the integer key range [-2**63, 2**64)"),
            position,
        )
    return value & UINT64_MASK


def int_key_bytes(value: int, position: int | None = None) -> bytes:
    """The 8 little-endian bytes of an integer key (two's complement / uint64 bits)."""
    return _int_bits(value, position).to_bytes(8, "little")


def int_key_bits(key: Any, position: int | None = None) -> int:
    """An integer key's uint64 bits, for routers that take integer keys as they are
    (``algorithm=None``); anything else is a TypeError naming its position."""
    if isinstance(key, (int, np.integer, np.bool_)):
        return _int_bits(int(key), position)
    error = key_type_error(position, key)
    raise at_position(TypeError(f"{error.args[0]}; with algorithm=None keys must be integers"), position)


def key_bytes(key: Any, position: int | None = None) -> bytes:
    """Return the bytes that represent ``key`` under the key contract, or raise.

    ``position`` only goes into error messages (and their ``position`` attribute).
    """
    if isinstance(key, str):
        try:
            return key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise at_position(
                ValueError(
                    f"{_where(position)} is a str that is not valid Unicode "
                    f"({exc.reason} at index {exc.start}): it has no UTF-8 encoding"
                ),
                position,
            ) from None
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    if isinstance(key, memoryview):
        if not key.contiguous:
            raise at_position(
                ValueError(f"{_where(position)} is a non-contiguous memoryview; pass a contiguous one"), position
            )
        return key.tobytes("A")
    if isinstance(key, (int, np.integer, np.bool_)):
        return int_key_bytes(int(key), position)
    raise key_type_error(position, key)
