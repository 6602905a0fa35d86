"""Pure-Python twin of the hashing kernels (``_hashing_c.pyx``): same names, same results.

The hash functions themselves are in ``_hashfuncs_py`` (the twin of
``_hashfuncs.pxd``). The array kernels on fixed 8-byte inputs are vectorized with
NumPy ``uint64`` arrays, whose arithmetic wraps modulo 2**64 by itself.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._hashfuncs_py import (
    _FMIX64_C1,
    _FMIX64_C2,
    _FNV64_OFFSET,
    _FNV64_PRIME,
    _M32,
    _M64,
    _MM32_C1,
    _MM32_C2,
    _MM64_C1,
    _MM64_C2,
    _P64_1,
    _P64_2,
    _P64_3,
    _P64_4,
    _P64_5,
    _PRIME_MX2,
    _S_4TO8,
    _SCALAR,
    ALGORITHM_TABLE,
    TEXT_ONLY,
    FNV1A_64,
    MD5_32,
    MURMUR3_32,
    MURMUR3_64,
    XXH3_64,
    XXH64,
    md5_32,
)
from ._algorithms import resolve_algorithm
from ._keycontract_py import at_position, key_bytes

if TYPE_CHECKING:
    from ._batches import KeyBatch

__all__ = [
    "arrow_flat",
    "ALGORITHM_TABLE",
    "TEXT_ONLY_ALGORITHMS",
    "first_non_text",
    "hash_bytes",
    "hash_fixed",
    "hash_key",
    "hash_objects",
    "hash_packed",
    "hash_uint64",
    "hash_views",
    "md5_strings",
    "point_hashes",
    "vnode_hashes",
    "vnode_md5",
]

#: While use_twin("cython") runs with this twin live, the compiled twin answers instead.
_twin: Any = None


def _delegate_to(module: Any) -> None:
    """Make this twin's public fast functions call ``module``'s (None: answer here)."""
    global _twin
    _twin = module


def hash_key(key: Any, algorithm: str = "xxh64", *, seed: int = 0) -> int:
    if _twin is not None:
        return int(_twin.hash_key(key, algorithm, seed=seed))
    algo, _, seed = resolve_algorithm(algorithm, seed)
    return hash_bytes(key_bytes(key), algo, seed)

# ---------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------

# Output dtype of each algorithm in the array kernels.
_OUT_DTYPE = {
    algo: np.dtype(np.uint64 if bits == 64 else np.uint32) for _, algo, bits, _ in ALGORITHM_TABLE
}


#: Ids of the systems' hashes of text: hash_objects refuses an integer key for them.
TEXT_ONLY_ALGORITHMS = tuple(sorted(TEXT_ONLY))


def _scalar_for(algo: int) -> Callable[[bytes, int], int]:
    """The scalar hash of algorithm id ``algo``, or ValueError."""
    try:
        return _SCALAR[algo]
    except (KeyError, TypeError):
        raise ValueError(f"unknown hash algorithm id: {algo!r}") from None


def _check_seed(seed: int) -> None:
    # The compiled twin takes the seed as a C uint64_t.
    if not 0 <= seed <= _M64:
        raise OverflowError(f"seed must be in [0, 2**64), got {seed}")


def hash_bytes(data: Any, algo: int, seed: int) -> int:
    """Hash one bytes-like ``data`` with algorithm id ``algo``; returns an int."""
    if type(data) is not bytes:
        data = bytes(data)
    try:
        fn = _SCALAR[algo]
    except (KeyError, TypeError):
        raise ValueError(f"unknown hash algorithm id: {algo!r}") from None
    if not 0 <= seed <= _M64:
        raise OverflowError(f"seed must be in [0, 2**64), got {seed}")
    return fn(data, seed)


def _check_out(out: NDArray[Any], n: int, algo: int) -> None:
    """Validate ``out`` for ``n`` results of ``algo`` (as the compiled twin does)."""
    dtype = _OUT_DTYPE[algo]
    if not (
        isinstance(out, np.ndarray)
        and out.ndim == 1
        and out.dtype == dtype
        and out.flags.c_contiguous
        and out.flags.writeable
    ):
        raise ValueError(f"out must be a writable 1-D C-contiguous {dtype} array")
    if len(out) != n:
        raise ValueError(f"out has length {len(out)}, expected {n}")


def _as_bytes(data: Any) -> bytes:
    """The bytes of a 1-D uint8 array (or other bytes-like ``data``)."""
    if isinstance(data, np.ndarray):
        if data.ndim != 1 or data.dtype != np.uint8:
            raise ValueError(f"data must be a 1-D uint8 array, got {data.dtype}")
        return data.tobytes()
    return bytes(data)


def _write(out: NDArray[Any], results: list[int]) -> None:
    """Write a list of Python ints into ``out`` in one step."""
    if results:
        out[:] = np.array(results, dtype=out.dtype)


# --- vectorized hashes of uint64 values (each as its 8 little-endian bytes) ---
# Each kernel is the straight-line code of its algorithm for an 8-byte input,
# applied to a chunk of values with in-place NumPy operations. NumPy uint64
# (uint32) array arithmetic wraps modulo 2**64 (2**32) without warnings; the
# constants are NumPy scalars of the array's type, so no operand is ever
# promoted to another dtype. The kernels compute on the values, not on their
# memory layout: results do not depend on the platform's byte order.

_U64 = np.uint64
_U32 = np.uint32
# Values per pass: large enough to amortize NumPy's per-call cost, small
# enough for the scratch arrays to stay in the CPU cache (about 4x faster than
# whole-array passes at 10**6 values).
_CHUNK = 1 << 14


def _rotl(x: NDArray[Any], r: int, tmp: NDArray[Any]) -> None:
    """``x = x <<< r`` in place (rotate left; x is uint64 or uint32), ``tmp`` scratch."""
    t = x.dtype.type
    np.right_shift(x, t(x.itemsize * 8 - r), out=tmp)
    x <<= t(r)
    x |= tmp


def _xorshift(x: NDArray[Any], r: int, tmp: NDArray[Any]) -> None:
    """``x ^= x >> r`` in place, ``tmp`` scratch."""
    np.right_shift(x, x.dtype.type(r), out=tmp)
    x ^= tmp


def _xxh64_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """XXH64 of 8-byte inputs: steps 1 (short), 4, 5 (one 8-byte lane), 6."""
    tmp = np.empty_like(out)
    # Step 5, one lane: acc ^= round(0, lane) with acc = seed + PRIME64_5 + 8.
    np.multiply(v, _U64(_P64_2), out=out)
    _rotl(out, 31, tmp)
    out *= _U64(_P64_1)
    out ^= _U64((seed + _P64_5 + 8) & _M64)
    _rotl(out, 27, tmp)
    out *= _U64(_P64_1)
    out += _U64(_P64_4)
    # Step 6. Final mix (avalanche).
    _xorshift(out, 33, tmp)
    out *= _U64(_P64_2)
    _xorshift(out, 29, tmp)
    out *= _U64(_P64_3)
    _xorshift(out, 32, tmp)


def _xxh3_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """XXH3-64 of 8-byte inputs: the "4-8 bytes of input" path with length 8."""
    tmp = np.empty_like(out)
    tmp2 = np.empty_like(out)
    modified_seed = seed ^ (int.from_bytes((seed & _M32).to_bytes(4, "little"), "big") << 32)
    # combined = inputLast | inputFirst << 32: the value with its halves swapped.
    np.copyto(out, v)
    _rotl(out, 32, tmp)
    out ^= _U64((_S_4TO8 - modified_seed) & _M64)
    # value ^= (value <<< 49) ^ (value <<< 24); a rotation's two halves are
    # disjoint, so xor-ing them in one by one is the same.
    np.left_shift(out, _U64(49), out=tmp)
    np.right_shift(out, _U64(15), out=tmp2)
    tmp ^= tmp2
    np.left_shift(out, _U64(24), out=tmp2)
    tmp ^= tmp2
    np.right_shift(out, _U64(40), out=tmp2)
    tmp ^= tmp2
    out ^= tmp
    out *= _U64(_PRIME_MX2)
    np.right_shift(out, _U64(35), out=tmp)
    tmp += _U64(8)  # + inputLength
    out ^= tmp
    out *= _U64(_PRIME_MX2)
    _xorshift(out, 28, tmp)


def _murmur3_32_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """MurmurHash3_x86_32 of 8-byte inputs: two 4-byte blocks, no tail."""
    lane = np.empty(len(v), _U64)
    k = np.empty_like(out)
    tmp = np.empty_like(out)
    out.fill(seed & _M32)  # h1 = seed
    for shift in (0, 32):  # body: the low block, then the high block
        np.right_shift(v, _U64(shift), out=lane)
        lane &= _U64(_M32)
        k[...] = lane
        k *= _U32(_MM32_C1)
        _rotl(k, 15, tmp)
        k *= _U32(_MM32_C2)
        out ^= k
        _rotl(out, 13, tmp)
        out *= _U32(5)
        out += _U32(0xE6546B64)
    # finalization: h1 ^= len, fmix32
    out ^= _U32(8)
    _xorshift(out, 16, tmp)
    out *= _U32(0x85EBCA6B)
    _xorshift(out, 13, tmp)
    out *= _U32(0xC2B2AE35)
    _xorshift(out, 16, tmp)


def _fmix64_vec(k: NDArray[np.uint64], tmp: NDArray[Any]) -> None:
    """MurmurHash3 ``fmix64`` in place."""
    _xorshift(k, 33, tmp)
    k *= _U64(_FMIX64_C1)
    _xorshift(k, 33, tmp)
    k *= _U64(_FMIX64_C2)
    _xorshift(k, 33, tmp)


def _murmur3_64_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """h1 of MurmurHash3_x64_128 of 8-byte inputs: no block, an 8-byte k1 tail."""
    tmp = np.empty_like(out)
    h2 = np.empty_like(out)
    seed &= _M32
    # tail: k1 = the 8 bytes; h1 = seed ^ k1 (h2 = seed untouched)
    np.multiply(v, _U64(_MM64_C1), out=out)
    _rotl(out, 31, tmp)
    out *= _U64(_MM64_C2)
    # finalization: h1 ^= len; h2 ^= len; h1 += h2; h2 += h1
    out ^= _U64(seed ^ 8)
    out += _U64(seed ^ 8)
    np.add(out, _U64(seed ^ 8), out=h2)
    _fmix64_vec(out, tmp)
    _fmix64_vec(h2, tmp)
    out += h2  # h1 += h2


def _fnv1a_64_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """FNV-1a 64 of 8-byte inputs, bytes taken least significant first."""
    tmp = np.empty_like(out)
    out.fill(_FNV64_OFFSET)
    for shift in range(0, 64, 8):
        np.right_shift(v, _U64(shift), out=tmp)
        tmp &= _U64(0xFF)
        out ^= tmp
        out *= _U64(_FNV64_PRIME)


def _md5_32_vec8(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
    """MD5-32 of 8-byte inputs (a loop: MD5 is not worth vectorizing here)."""
    buf = v.astype("<u8").tobytes()
    out[:] = [md5_32(buf[i : i + 8]) for i in range(0, len(buf), 8)]


_UINT64_KERNELS = {
    XXH64: _xxh64_vec8,
    XXH3_64: _xxh3_vec8,
    MURMUR3_32: _murmur3_32_vec8,
    MURMUR3_64: _murmur3_64_vec8,
    FNV1A_64: _fnv1a_64_vec8,
    MD5_32: _md5_32_vec8,
}


def _scalar_vec8(algo: int) -> Callable[[NDArray[np.uint64], int, NDArray[Any]], None]:
    """A uint64 kernel for the systems' hashes: the scalar hash of each value's 8
    little-endian bytes (fastring.compat passes most integer keys as bytes)."""
    fn = _SCALAR[algo]

    def kernel(v: NDArray[np.uint64], seed: int, out: NDArray[Any]) -> None:
        out[:] = [fn(x.to_bytes(8, "little"), seed) for x in v.tolist()]

    return kernel


def hash_uint64(values: Any, algo: int, seed: int, out: NDArray[Any]) -> None:
    """Hash each value of a uint64 array as its 8 little-endian bytes into ``out``."""
    _scalar_for(algo)
    _check_seed(seed)
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype != np.uint64:
        raise ValueError(f"values must be a 1-D uint64 array, got {values.dtype}")
    _check_out(out, len(values), algo)
    kernel = _UINT64_KERNELS.get(algo) or _scalar_vec8(algo)
    for start in range(0, len(values), _CHUNK):
        kernel(values[start : start + _CHUNK], seed, out[start : start + _CHUNK])


# --- variable-length records ---


def hash_packed(data: Any, offsets: Any, algo: int, seed: int, out: NDArray[Any]) -> None:
    """Hash ``data[offsets[i]:offsets[i+1]]`` for each i (offsets int32 or int64, n+1 long)."""
    fn = _scalar_for(algo)
    _check_seed(seed)
    buf = _as_bytes(data)
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or offsets.dtype not in (np.int32, np.int64) or len(offsets) < 1:
        raise ValueError("offsets must be a non-empty 1-D int32 or int64 array")
    n = len(offsets) - 1
    _check_out(out, n, algo)
    bounds = offsets.tolist()  # one read of the offsets: checked and used as read
    if n == 0:
        if not 0 <= bounds[0] <= len(buf):
            raise ValueError("offsets must be non-decreasing and within data")
        return
    good = [0 <= a <= b <= len(buf) for a, b in zip(bounds, bounds[1:])]
    if not all(good):
        raise ValueError(f"offsets must be non-decreasing and within data (key at position {good.index(False)})")
    _write(out, [fn(buf[bounds[i] : bounds[i + 1]], seed) for i in range(n)])


def hash_views(views: Any, buffers: Any, algo: int, seed: int, out: NDArray[Any]) -> None:
    """Hash Arrow string_view/binary_view keys: ``views`` holds 16 bytes per key
    (``length:int32``, then the bytes inline if length <= 12, else
    ``prefix:4, buffer_index:int32, offset:int32``); ``buffers`` the data buffers."""
    fn = _scalar_for(algo)
    _check_seed(seed)
    raw = _as_bytes(views)
    if len(raw) % 16:
        raise ValueError("views must hold 16 bytes per key")
    if not isinstance(buffers, list):
        raise TypeError("buffers must be a list of 1-d uint8 arrays")
    n = len(raw) // 16
    _check_out(out, n, algo)
    data = [_as_bytes(b) for b in buffers]
    keys: list[bytes] = []
    for i in range(n):
        length, index, offset = struct.unpack_from("<i4xii", raw, 16 * i)
        if length < 0:
            raise ValueError(f"malformed Arrow view at position {i}: it points outside its data buffer")
        if length <= 12:
            keys.append(raw[16 * i + 4 : 16 * i + 4 + length])
        elif 0 <= index < len(data) and offset >= 0 and offset + length <= len(data[index]):
            keys.append(data[index][offset : offset + length])
        else:
            raise ValueError(f"malformed Arrow view at position {i}: it points outside its data buffer")
    _write(out, [fn(k, seed) for k in keys])


def hash_fixed(data: Any, itemsize: int, algo: int, seed: int, out: NDArray[Any]) -> None:
    """Hash the fixed-width records of ``data`` (NumPy ``S`` items, trailing NULs dropped)."""
    fn = _scalar_for(algo)
    _check_seed(seed)
    buf = _as_bytes(data)
    if itemsize < 1:
        raise ValueError("itemsize must be at least 1")
    if len(buf) % itemsize:
        raise ValueError("data length is not a multiple of itemsize")
    n = len(buf) // itemsize
    _check_out(out, n, algo)
    # Viewing the records as an ``S`` array and converting them back to bytes
    # applies NumPy's own rule: trailing NULs go, embedded NULs stay.
    records = np.frombuffer(buf, dtype="S%d" % itemsize).tolist()
    _write(out, [fn(r, seed) for r in records])


_INT_MIN = -(1 << 63)
_INT_END = 1 << 64


def first_non_text(items: Any) -> int:
    """The position of the first key that is not str, bytes, bytearray or memoryview; -1
    if there is none."""
    for i, item in enumerate(items):
        if not isinstance(item, (str, bytes, bytearray, memoryview)):
            return i
    return -1


def hash_objects(items: Any, algo: int, seed: int, out: NDArray[Any], start: int = 0, stop: int | None = None) -> None:
    """Hash each key of ``items[start:stop]`` (default: all of ``items``, a list or a
    1-d C-contiguous object ndarray) into ``out`` (str, bytes, int inline; anything else
    through ``fastring._keys.key_bytes``); an error names the key's position in
    ``items``.

    Every key is converted before anything is written (the compiled twin may
    write part of ``out`` before an error; ``hash_keys`` guards callers' arrays).
    """
    if isinstance(items, np.ndarray) and items.dtype == object and items.ndim == 1 and items.flags.c_contiguous:
        items = items.tolist()  # the very objects, in order
    if not isinstance(items, list):
        raise TypeError("items must be a list or a 1-d C-contiguous object array")
    fn = _scalar_for(algo)
    _check_seed(seed)
    total = len(items)
    n = (total if stop is None else stop) - start
    if start < 0 or n < 0 or start + n > total:
        raise ValueError(f"keys {start}:{start + n} are not within the {total} items")
    _check_out(out, n, algo)
    keys: list[bytes] = []
    append = keys.append
    for i, obj in enumerate(items[start : start + n] if start or n != total else items, start):
        t = type(obj)
        if t is str:
            try:
                append(obj.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate: key_bytes raises the error
                append(key_bytes(obj, i))
        elif t is bytes:
            append(obj)
        elif algo in TEXT_ONLY and not isinstance(obj, (str, bytes, bytearray, memoryview)):
            message = f"key at position {i} has type {t.__name__}: this system hashes text (str or bytes)"
            raise at_position(TypeError(message), i)
        elif (t is int or t is bool) and _INT_MIN <= obj < _INT_END:
            # 8 bytes little-endian two's complement; [2**63, 2**64) as uint64 bits
            append((obj & _M64).to_bytes(8, "little"))
        else:
            append(key_bytes(obj, i))
    _write(out, [fn(k, seed) for k in keys])


# ---------------------------------------------------------------- ring points
# The texts a ring hashes for its points: ``prefix + str(v)`` for a node's vnodes v.


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _check_prefixes(prefixes: Sequence[bytes]) -> None:
    for k, prefix in enumerate(prefixes):
        if type(prefix) is not bytes:
            raise TypeError(f"prefix {k} is not bytes")


def _vnode_texts(prefixes: Sequence[bytes], starts: Any, stops: Any) -> list[bytes]:
    if len(starts) != len(prefixes) or len(stops) != len(prefixes):
        raise ValueError("starts and stops must hold one value per prefix")
    _check_prefixes(prefixes)
    texts: list[bytes] = []
    for k, (prefix, start, stop) in enumerate(zip(prefixes, np.asarray(starts).tolist(), np.asarray(stops).tolist())):
        if not 0 <= start <= stop:
            raise ValueError(f"vnode range {k} is not 0 <= start <= stop")
        texts.extend(prefix + b"%d" % w for w in range(start, stop))
    return texts


def vnode_hashes(prefixes: Sequence[bytes], starts: Any, stops: Any, algo: int, seed: int, out: NDArray[Any]) -> NDArray[np.uint64]:
    """Hash ``prefixes[k] + str(v)`` (UTF-8) for v in range(starts[k], stops[k]), for
    every k in order, into ``out`` (one hash per vnode, concatenated)."""
    texts = _vnode_texts(prefixes, starts, stops)
    if len(out) != len(texts):
        raise ValueError(f"out must hold {len(texts)} hashes")
    fn = _scalar_for(algo)
    if texts:
        out[:] = np.array([fn(t, seed) for t in texts], dtype=np.uint64)
    return out


def point_hashes(prefixes: Sequence[bytes], owner: Any, vnode: Any, algo: int, seed: int, out: NDArray[Any]) -> NDArray[np.uint64]:
    """``out[i]`` = the hash of ``prefixes[owner[i]] + str(vnode[i])`` (UTF-8): the
    points of a ring in any order, such as a pickled ring's own (sorted) order, which
    a check can then compare in one pass instead of gathering across the arrays."""
    fn = _scalar_for(algo)
    owners, vnodes = np.asarray(owner).tolist(), np.asarray(vnode).tolist()
    if len(vnodes) != len(owners) or len(out) != len(owners):
        raise ValueError("owner, vnode and out must have the same length")
    for i, (o, v) in enumerate(zip(owners, vnodes)):
        if not (0 <= o < len(prefixes) and v >= 0):
            raise ValueError(f"point {i}: owner {o} or vnode {v} out of range")
    _check_prefixes(prefixes)
    if owners:
        out[:] = np.array([fn(prefixes[o] + b"%d" % v, seed) for o, v in zip(owners, vnodes)], dtype=np.uint64)
    return out


def vnode_md5(prefixes: Sequence[bytes], starts: Any, stops: Any, out: NDArray[Any]) -> NDArray[np.uint8]:
    """The 16-byte md5 digest of ``prefixes[k] + str(v)`` (UTF-8) for v in
    range(starts[k], stops[k]), for every k in order, into ``out`` (concatenated)."""
    texts = _vnode_texts(prefixes, starts, stops)
    if len(out) != 16 * len(texts):
        raise ValueError(f"out must hold 16 * {len(texts)} bytes")
    if texts:
        out[:] = np.frombuffer(b"".join(_md5(t) for t in texts), dtype=np.uint8)
    return out


def md5_strings(items: Any, hi: NDArray[np.uint64], lo: NDArray[np.uint64]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """hi[i], lo[i] = md5(items[i].encode()) read as one big-endian 128-bit integer.

    ``items`` holds only ``str``.
    """
    n = len(items)
    if len(hi) != n or len(lo) != n:
        raise ValueError("hi and lo must hold one word per item")
    digests = []
    for i, item in enumerate(items):
        if type(item) is not str:
            raise TypeError(f"item {i} is not a str")
        digests.append(_md5(key_bytes(item, i)))
    if n:
        words = np.frombuffer(b"".join(digests), dtype=">u8").reshape(n, 2)
        hi[:] = words[:, 0]
        lo[:] = words[:, 1]
    return hi, lo


def arrow_flat(schema_capsule: object, array_capsule: object) -> KeyBatch | None:
    """The compiled twin's short way into flat Arrow arrays. This twin has none: None
    sends every array to fastring._arrow's general reader (same batches, same errors)."""
    return None
