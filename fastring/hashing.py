"""Batched key hashing: one key with :func:`hash_key`, a whole column with :func:`hash_keys`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _hashing, _hashing_py
from ._algorithms import ALGORITHMS, output_dtype, resolve_algorithm
from ._batches import ChunkedKeys, DictKeys, FixedKeys, IntKeys, KeyBatch, ObjectKeys, PackedKeys, ViewKeys
from ._keycontract_py import key_bytes
from ._keys import as_key_batch
from ._threads import check_threads, run_sliced

__all__ = ["ALGORITHMS", "hash_key", "hash_keys"]


#: fastring.hash_key is the live twin's own function: the compiled one hashes exact
#: str, bytes and int keys without a Python frame in between (see _hashing_c).
hash_key = _hashing.hash_key
hash_key.__doc__ = _hashing_py.hash_key.__doc__ = """Hash one key.

    Parameters
    ----------
    key : str, bytes, bytearray, memoryview or int
        Strings hash as their UTF-8 bytes; integers as 8 little-endian bytes
        (two's complement; values in [2**63, 2**64) as their uint64 bits).
    algorithm : str
        One of :data:`ALGORITHMS`.
    seed : int
        ``[0, 2**64)`` for xxh64/xxh3_64, ``[0, 2**32)`` for the murmur3 variants,
        only ``0`` for fnv1a_64 and md5_32.

    Returns
    -------
    int
        The hash, as the reference implementation returns it (unsigned).

    Examples
    --------
    >>> from fastring import hash_key
    >>> hash_key("user:42")
    15861654238046376386
    >>> hash_key(5) == hash_key(b"\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
    True
    >>> hash_key("user:42", "murmur3_32", seed=7)
    761221315
    """


def hash_keys(
    keys: Any, algorithm: str = "xxh64", *, seed: int = 0, out: np.ndarray | None = None, threads: int = 1
) -> np.ndarray:
    """Hash every key of a container; ``hash_keys(c)[i] == hash_key(c[i])``.

    Parameters
    ----------
    keys : iterable, NumPy array, pandas Series/Index, polars Series, Arrow array
        Lists/tuples/iterables of str, bytes, int; NumPy integer (any width or
        signedness), bool, ``S``, ``U`` and object arrays; pandas object, string,
        categorical and integer columns; anything exporting the Arrow PyCapsule
        interface (string, binary, their large and view variants, integers,
        dictionary-encoded and chunked columns).
    algorithm : str
        One of :data:`ALGORITHMS`.
    seed : int
        See :func:`hash_key`.
    out : numpy.ndarray, optional
        A writeable, C-contiguous 1-d array of the output dtype and length; filled
        in place and returned. Left untouched if the call raises.
    threads : int
        Split integer, NumPy ``S`` and Arrow binary/string columns into this many
        parts hashed in parallel (the kernels release the GIL). Python objects
        (lists, object arrays) are read under the GIL and always use one thread.

    Returns
    -------
    numpy.ndarray
        ``uint64`` for 64-bit algorithms, ``uint32`` for murmur3_32 and md5_32.

    Raises
    ------
    TypeError
        A key of an unsupported type (float, None, list, ...): the message names its
        position and type.
    OverflowError
        An integer key outside ``[-2**63, 2**64)``.
    ValueError
        A null (Arrow/pandas missing value), a str with a lone surrogate, an unknown
        algorithm, a seed out of range, or a bad ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastring import hash_keys
    >>> hash_keys(["user:42", b"raw", 5])
    array([15861654238046376386,  7475573020658313826,  9925382920258869565],
          dtype=uint64)
    >>> bool((hash_keys(np.array([5], dtype=np.int8)) == hash_keys([5])).all())
    True
    >>> hash_keys(["a", "b"], "murmur3_32").dtype
    dtype('uint32')
    """
    algo, dtype, seed = resolve_algorithm(algorithm, seed)
    threads = check_threads(threads)
    batch = as_key_batch(keys)
    n = len(batch)
    if out is None:
        out = np.empty(n, dtype=dtype)
        hash_batch(batch, algo, seed, out, threads)
        return out
    _check_out(out, dtype, n)
    if _cannot_fail(batch) and not any(np.may_share_memory(out, b) for b in _buffers(batch)):
        # Keys that cannot fail once batched go straight into out (unless out overlaps
        # the keys: then a write would change keys not yet read).
        hash_batch(batch, algo, seed, out, threads)
        return out
    # Kernels write as they go; a key that fails part-way must leave the caller's
    # out untouched, so hash into a private array and hand it over on success.
    result = np.empty(n, dtype=dtype)
    hash_batch(batch, algo, seed, result, threads)
    out[...] = result
    return out


def _cannot_fail(batch: KeyBatch) -> bool:
    """True if hashing ``batch`` cannot raise: integers, fixed-width records, and packed
    keys whose spans lie in their data (checked here, a chunk at a time, so the check
    allocates no more than a chunk)."""
    if isinstance(batch, (IntKeys, FixedKeys)):
        return True
    if not isinstance(batch, PackedKeys):
        return False
    offsets, size = batch.offsets, len(batch.data)
    if len(offsets) == 0 or offsets[0] < 0 or offsets[-1] > size:
        return False
    for a in range(0, len(offsets) - 1, HASH_CHUNK):
        part = offsets[a : a + HASH_CHUNK + 1]
        if (part[1:] < part[:-1]).any():
            return False
    return True


def _buffers(batch: KeyBatch) -> tuple[Any, ...]:
    if isinstance(batch, IntKeys):
        return (batch.values,)
    if isinstance(batch, PackedKeys):
        return (batch.data, batch.offsets)
    assert isinstance(batch, FixedKeys)
    return (batch.data,)


def _split(batch: KeyBatch, start: int, stop: int) -> KeyBatch:
    """Keys ``start:stop`` of a GIL-free batch, sharing its buffers."""
    if isinstance(batch, IntKeys):
        return IntKeys(batch.values[start:stop], batch.dtype)
    if isinstance(batch, PackedKeys):
        return PackedKeys(batch.data, batch.offsets[start : stop + 1])  # offsets are absolute
    if isinstance(batch, ViewKeys):
        return ViewKeys(batch.views[16 * start : 16 * stop], batch.buffers)
    assert isinstance(batch, FixedKeys)
    return FixedKeys(batch.data[start * batch.itemsize : stop * batch.itemsize], batch.itemsize)


#: The batches hashed a chunk at a time: the GIL-free ones (cut by _split) and Python
#: objects (hashed in place by range: a list slice would touch every key's refcount).
_SPLITS = (ObjectKeys, IntKeys, PackedKeys, ViewKeys, FixedKeys)

#: Keys hashed per step when a batch call consumes the hashes as they come: the hashes
#: of the whole batch never exist (the call's peak memory is its output), and a
#: chunk's hashes are still in L2 when they are searched.
HASH_CHUNK = 1 << 14


def hash_in_chunks(
    batch: KeyBatch, algo: int, seed: int, dtype: Any, threads: int,
    consume: Callable[[int, int, np.ndarray], None],
) -> None:
    """``consume(start, stop, hashes)`` for consecutive chunks of ``batch``, the hashes
    as ``dtype`` (a 32-bit algorithm's zero-extended to uint64 if asked), in up to
    ``threads`` parallel slices, each with its own scratch of :data:`HASH_CHUNK` keys.

    A key that fails is named at its position in the whole batch.
    """
    n = len(batch)
    if isinstance(batch, ChunkedKeys) and n > HASH_CHUNK:  # an Arrow stream: chunk by chunk
        start = 0
        for part in batch.chunks:

            def shifted(a: int, b: int, h: np.ndarray, offset: int = start) -> None:
                consume(offset + a, offset + b, h)

            hash_in_chunks(part, algo, seed, dtype, threads, shifted)
            start += len(part)
        return
    own = output_dtype(algo)
    if not isinstance(batch, _SPLITS) or n <= HASH_CHUNK:
        hashes = np.empty(n, dtype=own)
        hash_batch(batch, algo, seed, hashes, threads)
        consume(0, n, hashes if own == dtype else hashes.astype(dtype))
        return

    def work(start: int, stop: int) -> None:
        scratch = np.empty(min(HASH_CHUNK, stop - start), dtype=own)
        wide = scratch if own == dtype else np.empty(len(scratch), dtype=dtype)
        for a in range(start, stop, HASH_CHUNK):
            b = min(stop, a + HASH_CHUNK)
            if isinstance(batch, ObjectKeys):  # errors name positions in the whole list
                _hashing.hash_objects(batch.items, algo, seed, scratch[: b - a], a, b)
            else:
                try:
                    _hash_batch_once(_split(batch, a, b), algo, seed, scratch[: b - a])
                except ValueError:
                    # A malformed span is named in the chunk: hashing the whole batch
                    # names it in the batch (this path only runs on an error).
                    _hash_batch_once(batch, algo, seed, np.empty(n, dtype=own))
                    raise
            if wide is not scratch:
                np.copyto(wide[: b - a], scratch[: b - a])
            consume(a, b, wide[: b - a])

    run_sliced(n, threads, work)


def hash_batch(batch: KeyBatch, algo: int, seed: int, out: np.ndarray, threads: int = 1) -> None:
    """Hash a key batch into ``out`` with the live twin's kernels; GIL-free batches are
    cut into up to ``threads`` slices hashed in parallel."""
    if isinstance(batch, ChunkedKeys) and threads > 1:
        start = 0
        for chunk in batch.chunks:  # each large chunk is itself split across threads
            stop = start + len(chunk)
            hash_batch(chunk, algo, seed, out[start:stop], threads)
            start = stop
        return
    if threads < 2 or not isinstance(batch, (IntKeys, PackedKeys, ViewKeys, FixedKeys)):
        _hash_batch_once(batch, algo, seed, out)
        return
    run_sliced(len(batch), threads, lambda a, b: _hash_batch_once(_split(batch, a, b), algo, seed, out[a:b]))


def _check_out(out: Any, dtype: np.dtype, n: int) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise ValueError(f"out has dtype {out.dtype}; this algorithm writes {dtype}")
    if out.shape != (n,):
        raise ValueError(f"out has shape {out.shape}; expected ({n},) for {n} keys")
    if not out.flags.writeable:
        raise ValueError("out is not writeable")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")


def _hash_batch_once(batch: KeyBatch, algo: int, seed: int, out: np.ndarray) -> None:
    if isinstance(batch, IntKeys):
        _hashing.hash_uint64(batch.values, algo, seed, out)
    elif isinstance(batch, PackedKeys):
        _hashing.hash_packed(batch.data, batch.offsets, algo, seed, out)
    elif isinstance(batch, ViewKeys):
        _hashing.hash_views(batch.views, batch.buffers, algo, seed, out)
    elif isinstance(batch, FixedKeys):
        _hashing.hash_fixed(batch.data, batch.itemsize, algo, seed, out)
    elif isinstance(batch, ObjectKeys):
        _hashing.hash_objects(batch.items, algo, seed, out)
    elif isinstance(batch, DictKeys):
        table = np.empty(len(batch.dictionary), dtype=out.dtype)
        _hash_dictionary(batch, algo, seed, table)
        np.take(table, batch.indices, out=out)
    elif isinstance(batch, ChunkedKeys):
        start = 0
        for chunk in batch.chunks:
            stop = start + len(chunk)
            hash_batch(chunk, algo, seed, out[start:stop])
            start = stop
    else:  # pragma: no cover - as_key_batch returns only the types above
        raise TypeError(f"not a key batch: {type(batch).__name__}")


def _hash_dictionary(batch: DictKeys, algo: int, seed: int, table: np.ndarray) -> None:
    """Hash the dictionary; an error names the first *key* that uses a bad entry."""
    try:
        hash_batch(batch.dictionary, algo, seed, table)
    except (TypeError, ValueError, OverflowError) as exc:
        if not isinstance(batch.dictionary, ObjectKeys):
            raise
        items = batch.dictionary.items
        bad = np.zeros(len(items), dtype=bool)
        for j, item in enumerate(items):
            try:
                key_bytes(item)
            except (TypeError, ValueError, OverflowError):
                bad[j] = True
        used = np.flatnonzero(bad[batch.indices])
        if not len(used):
            # Only unused entries are bad: hash the others, the bad ones are never read.
            good = [b"" if bad[j] else item for j, item in enumerate(items)]
            _hashing.hash_objects(good, algo, seed, table)
            return
        # key_bytes raises the error again, now naming the key's own position.
        position = int(used[0])
        key_bytes(items[batch.indices[position]], position)
        raise exc  # pragma: no cover - key_bytes raised above
