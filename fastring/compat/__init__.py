"""The same partition, slot, token and bucket as the systems a pipeline feeds.

Each function takes any key container :func:`~fastring.hash_keys` takes and returns
a NumPy array equal, key for key, to what the system computes:

============================  ==================================================
function                      equals
============================  ==================================================
:func:`kafka_partition`       the Java producer's default partitioner (keyed record)
:func:`kafka_murmur2`         Kafka's ``Utils.murmur2`` (signed, as Java returns it)
:func:`redis_slot`            ``CLUSTER KEYSLOT`` (hash tags included)
:func:`cassandra_token`       Murmur3Partitioner's token
:func:`spark_hash`            Spark SQL ``hash(col)``
:func:`spark_xxhash64`        Spark SQL ``xxhash64(col)``
:func:`spark_partition`       the partition of ``df.repartition(n, col)``
:func:`iceberg_bucket`        Iceberg's ``bucket[N]`` transform
:func:`elasticsearch_shard`   the shard of a document's ``_routing`` / ``_id``
:func:`pandas_hash`           ``pandas.util.hash_array``
:func:`dask_partition`        the partition of ``ddf.shuffle(on=col, npartitions=n)``
============================  ==================================================

``key_type`` names the key's type as the system calls it. ``None`` infers it from the
container: str gives the system's string type, bytes its binary type, integer arrays
of 32 bits or fewer its 32-bit integer and 64-bit integer arrays its 64-bit integer.
A Python int with no ``key_type`` is a TypeError where the system has two integer
widths (the bytes hashed differ). Bad keys raise an error that names the position;
nothing is returned for them.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import numpy as np

from .. import _hashing
from .._batches import ChunkedKeys, DictKeys, IntKeys, KeyBatch, ObjectKeys, PackedKeys
from .._keycontract_py import at_position
from .._keys import as_key_batch, check_column, signed_integers
from .._params import check_int, is_int
from .._algorithms import resolve_algorithm
from ..hashing import hash_batch

__all__ = [
    "cassandra_token",
    "dask_partition",
    "default_routing_num_shards",
    "elasticsearch_shard",
    "iceberg_bucket",
    "kafka_murmur2",
    "kafka_partition",
    "pandas_hash",
    "redis_slot",
    "spark_hash",
    "spark_partition",
    "spark_xxhash64",
]

_INT32_MAX = 0x7FFFFFFF


class _Type(NamedTuple):
    """How a system turns one key of a type into the bytes it hashes."""

    kind: str  # "text" (str as UTF-8, bytes as they are), "int" or "uuid"
    bits: int = 0  # an int's range: a signed ``bits``-bit integer
    width: int = 0  # and the bytes it is written as
    order: str = "<"  # in this byte order


_TEXT = _Type("text")
_INT_BE = _Type("int", 32, 4, ">")
_LONG_BE = _Type("int", 64, 8, ">")
_INT_LE = _Type("int", 32, 4, "<")
_LONG_LE = _Type("int", 64, 8, "<")


class _System(NamedTuple):
    name: str
    types: dict[str, _Type]  # key_type -> _Type; the first two are the string and binary types
    int32: str  # the key_type inferred for 32-bit integer arrays
    int64: str  # ... and for 64-bit ones; Python ints need key_type if they differ


_KAFKA = _System(
    "Kafka", {"string": _TEXT, "bytes": _TEXT, "int": _INT_BE, "long": _LONG_BE}, "int", "long"
)
_CASSANDRA = _System(
    "Cassandra", {"text": _TEXT, "blob": _TEXT, "int": _INT_BE, "bigint": _LONG_BE}, "int", "bigint"
)
_SPARK = _System(
    "Spark", {"string": _TEXT, "binary": _TEXT, "int": _INT_LE, "bigint": _LONG_LE}, "int", "bigint"
)
# Iceberg hashes int and long alike (as an 8-byte little-endian long): no ambiguity.
_ICEBERG = _System(
    "Iceberg",
    {"string": _TEXT, "binary": _TEXT, "int": _Type("int", 32, 8, "<"), "long": _LONG_LE, "uuid": _Type("uuid")},
    "long",
    "long",
)


# --------------------------------------------------------------------------- keys


def _hash(keys: Any, system: _System, key_type: str | None, algorithm: str, seed: int = 0) -> np.ndarray:
    """Hash the keys as ``system`` encodes them, with one of the kernels' algorithms."""
    algo, dtype, seed = resolve_algorithm(algorithm, seed)
    batch = as_key_batch(keys)
    spec = _key_type(batch, system, key_type)
    batch = _encode(batch, spec, system, key_type, algo)
    out = np.empty(len(batch), dtype=dtype)
    hash_batch(batch, algo, seed, out)
    return out


def _key_type(batch: KeyBatch, system: _System, key_type: str | None) -> _Type:
    if key_type is not None:
        try:
            return system.types[key_type]
        except (KeyError, TypeError):
            names = ", ".join(repr(t) for t in system.types)
            raise ValueError(f"unknown {system.name} key_type {key_type!r}; choose one of {names}") from None
    first = _first_batch(batch)
    if isinstance(first, IntKeys):
        dtype = first.dtype
        if dtype is not None and dtype.kind == "b":
            raise TypeError(f"key at position 0 is a bool: {system.name} has no boolean key type")
        wide = dtype is None or dtype.itemsize > 4
        return system.types[system.int64 if wide else system.int32]
    if isinstance(first, ObjectKeys):
        for i, item in enumerate(first.items):
            if is_int(item):
                if system.int32 != system.int64:
                    raise at_position(
                        TypeError(
                            f"key at position {i} is a Python int, which is a {system.int32!r} or a "
                            f"{system.int64!r} in {system.name} (different bytes): pass key_type"
                        ),
                        i,
                    )
                return system.types[system.int64]
            if isinstance(item, uuid.UUID) and "uuid" in system.types:
                return system.types["uuid"]
            if isinstance(item, (str, bytes, bytearray, memoryview)):
                return _TEXT
    return _TEXT


def _first_batch(batch: KeyBatch) -> KeyBatch:
    """The batch that says what the keys are (a dictionary's or a first chunk's)."""
    while True:
        if isinstance(batch, DictKeys):
            batch = batch.dictionary
        elif isinstance(batch, ChunkedKeys) and batch.chunks:
            batch = batch.chunks[0]
        else:
            return batch


def _encode(batch: KeyBatch, spec: _Type, system: _System, key_type: str | None, algo: int) -> KeyBatch:
    type_name = f"{system.name} {key_type or [n for n, t in system.types.items() if t == spec][0]}"
    if spec.kind == "text":
        _check_text(batch, type_name, objects=algo not in _hashing.TEXT_ONLY_ALGORITHMS)
        return batch
    if spec.kind == "uuid":
        return _uuid_batch(batch, type_name)
    values = signed_integers(batch, spec.bits, type_name)
    if spec.width == 8 and spec.order == "<":
        return IntKeys(values.view(np.uint64))  # the kernels' own 8-byte little-endian form
    return _fixed_bytes(values.astype(f"{spec.order}i{spec.width}").view(np.uint8), spec.width)


def _fixed_bytes(data: np.ndarray, width: int) -> PackedKeys:
    n = len(data) // width
    return PackedKeys(np.ascontiguousarray(data), np.arange(0, n * width + 1, width, dtype=np.int64))


_TEXT_TYPES = (str, bytes, bytearray, memoryview)


def _check_text(batch: KeyBatch, type_name: str, *, types: tuple[Any, ...] = _TEXT_TYPES, objects: bool = True) -> None:
    """Integer keys are not text: refuse them (the kernels would hash their 8 bytes).

    ``objects=False``: Python objects are left to the kernel, which refuses integers
    itself for the systems' text hashes (one pass over the keys instead of two).
    """
    if isinstance(batch, IntKeys):
        raise at_position(TypeError(f"key at position 0 is an integer, not a {type_name}"), 0)
    if isinstance(batch, ObjectKeys) and (objects or types != _TEXT_TYPES):
        items = batch.items
        i = _hashing.first_non_text(items)
        if i < 0 and types != _TEXT_TYPES:
            i = next((j for j, item in enumerate(items) if not isinstance(item, types)), -1)
        if i >= 0:
            kind = type(items[i]).__name__
            raise at_position(TypeError(f"key at position {i} has type {kind}, not a {type_name}"), i)
    elif isinstance(batch, DictKeys):
        _check_text(batch.dictionary, type_name, types=types, objects=objects)
    elif isinstance(batch, ChunkedKeys):
        for chunk in batch.chunks:
            _check_text(chunk, type_name, types=types, objects=objects)


def _uuid_batch(batch: KeyBatch, type_name: str) -> KeyBatch:
    """UUIDs as their 16 big-endian bytes (uuid.UUID objects or 16-byte bytes)."""
    if not isinstance(batch, ObjectKeys):
        _check_text(batch, type_name, types=(bytes,))
        return batch  # binary columns: each value must be the 16 bytes (checked below)
    data = bytearray()
    for i, item in enumerate(batch.items):
        if isinstance(item, uuid.UUID):
            data += item.bytes
        elif isinstance(item, (bytes, bytearray)) and len(item) == 16:
            data += item
        else:
            raise at_position(
                TypeError(f"key at position {i} is {type(item).__name__}, not a uuid.UUID or 16 bytes ({type_name})"),
                i,
            )
    return _fixed_bytes(np.frombuffer(bytes(data), dtype=np.uint8), 16)


def _positive_mod(h: np.ndarray, n: int) -> np.ndarray:
    """``(h & Integer.MAX_VALUE) % n`` of uint32 hashes, in place, as int32 (Kafka's
    toPositive, Iceberg's bucket): every value fits, so the bits are the answer."""
    np.bitwise_and(h, np.uint32(_INT32_MAX), out=h)
    np.remainder(h, np.uint32(n), out=h)
    return h.view(np.int32)


def _count(value: Any, name: str) -> int:
    """A partition/shard/bucket count: an int in [1, 2**31 - 1] (a Java int)."""
    return check_int(value, name, 1, _INT32_MAX)


def _java_int(seed: Any, name: str = "seed") -> int:
    """A Java int seed in [-2**31, 2**31), as its unsigned 32 bits for the kernels."""
    return check_int(seed, name, -(2**31), 2**31 - 1) & 0xFFFFFFFF


# --------------------------------------------------------------------------- Kafka


def kafka_murmur2(keys: Any, *, key_type: str | None = None) -> np.ndarray:
    """Kafka's ``Utils.murmur2`` of each serialized key, as int32 (signed, as Java).

    ``key_type``: ``"string"`` (StringSerializer, UTF-8), ``"bytes"``, ``"int"``
    (IntegerSerializer: 4 bytes big-endian) or ``"long"`` (LongSerializer: 8 bytes
    big-endian).

    Examples
    --------
    >>> from fastring.compat import kafka_murmur2
    >>> kafka_murmur2(["user:1", "user:2"])
    array([1791313958, -278357775], dtype=int32)
    """
    return _hash(keys, _KAFKA, key_type, "kafka:murmur2").view(np.int32)


def kafka_partition(keys: Any, num_partitions: int, *, key_type: str | None = None) -> np.ndarray:
    """The partition the Java producer's default partitioner gives a keyed record:
    ``toPositive(murmur2(serialized key)) % num_partitions``.

    Examples
    --------
    >>> from fastring.compat import kafka_partition
    >>> kafka_partition(["user:1", "user:2"], 12)
    array([2, 5], dtype=int32)
    """
    n = _count(num_partitions, "num_partitions")
    h = _hash(keys, _KAFKA, key_type, "kafka:murmur2")
    return _positive_mod(h, n)


# --------------------------------------------------------------------------- Redis


def redis_slot(keys: Any) -> np.ndarray:
    """Redis Cluster's ``CLUSTER KEYSLOT`` of each key (str as UTF-8, or bytes), int32
    in ``[0, 16384)``: CRC16-XMODEM of the key, or of its hash tag (the bytes between
    the first ``{`` and the next ``}``, when there are any).

    Examples
    --------
    >>> from fastring.compat import redis_slot
    >>> redis_slot(["user1000", "{user1000}.following", "foo{}{bar}"])
    array([3443, 3443, 8363], dtype=int32)
    """
    algo, dtype, _ = resolve_algorithm("redis:slot")
    batch = as_key_batch(keys)
    _check_text(batch, "Redis key (str or bytes)", objects=False)
    out = np.empty(len(batch), dtype=dtype)
    hash_batch(batch, algo, 0, out)
    return out.view(np.int32)


# --------------------------------------------------------------------------- Cassandra


def cassandra_token(keys: Any, *, key_type: str | None = None) -> np.ndarray:
    """Murmur3Partitioner's token of each partition key, int64.

    Cassandra's own MurmurHash3 sign-extends tail bytes >= 0x80 (so it differs from
    standard murmur3 there), maps a hash of ``Long.MIN_VALUE`` to ``Long.MAX_VALUE``,
    and gives the empty key the minimum token ``-2**63``. ``key_type``: ``"text"``,
    ``"blob"``, ``"int"`` (4 bytes big-endian) or ``"bigint"`` (8 bytes big-endian).

    Examples
    --------
    >>> from fastring.compat import cassandra_token
    >>> cassandra_token(["user:1", ""])
    array([ 6120565781388772718, -9223372036854775808])
    """
    return _hash(keys, _CASSANDRA, key_type, "cassandra:token").view(np.int64)


# --------------------------------------------------------------------------- Spark


def _is_null(key: Any) -> bool:
    """None, a float NaN, pandas' NA or NaT: what the systems call a null."""
    return key is None or (type(key) is float and key != key) or type(key).__name__ in ("NAType", "NaTType")


def _split_nulls(keys: Any) -> tuple[Any, np.ndarray | None]:
    """The keys without their nulls, and where the nulls were (None: there are none).

    Lists, tuples and object arrays by value; pandas columns by ``isna``; Arrow and
    polars columns by ``is_null``. Other containers have no nulls to split.
    """
    check_column(keys)
    if isinstance(keys, (list, tuple)) or (isinstance(keys, np.ndarray) and keys.dtype == object):
        items = keys.tolist() if isinstance(keys, np.ndarray) else keys
        mask = np.fromiter((_is_null(k) for k in items), dtype=bool, count=len(items))
        if not mask.any():
            return keys, None
        return [k for k, null in zip(items, mask.tolist()) if not null], mask
    if type(keys).__module__.startswith("pandas") and hasattr(keys, "isna"):
        mask = np.asarray(keys.isna(), dtype=bool)
        return (keys[~mask], mask) if mask.any() else (keys, None)
    if callable(getattr(keys, "drop_null", None)):  # pyarrow
        mask = np.asarray(keys.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        return (keys.drop_null(), mask) if mask.any() else (keys, None)
    if callable(getattr(keys, "drop_nulls", None)) and callable(getattr(keys, "is_null", None)):  # polars
        mask = np.asarray(keys.is_null().to_numpy(), dtype=bool)
        return (keys.drop_nulls(), mask) if mask.any() else (keys, None)
    return keys, None


def _nulls_as(compute: Any, keys: Any, null_value: Any) -> np.ndarray:
    """``compute(keys)``, with ``null_value`` where a key is null.

    The keys are hashed as they are first: the kernels refuse a null, so keys without
    nulls (the common case) cost nothing extra. Only then are the nulls split out and
    the rest hashed; an error there names the key's position among all the keys.
    """
    try:
        return np.asarray(compute(keys))
    except (TypeError, ValueError) as exc:
        rest, mask = _split_nulls(keys)
        if mask is None:
            raise
        error = exc
    try:
        values = compute(rest)
    except (TypeError, ValueError, OverflowError) as exc:
        position = getattr(exc, "position", None)
        if position is None:
            raise
        original = int(np.flatnonzero(~mask)[position])
        message = str(exc).replace(f"position {position}", f"position {original}", 1)
        raise at_position(type(exc)(message), original) from error
    out = np.empty(len(mask), dtype=values.dtype)
    out[~mask] = values
    out[mask] = null_value
    return out


def spark_hash(keys: Any, *, key_type: str | None = None, seed: int = 42) -> np.ndarray:
    """Spark SQL ``hash(col)`` of each value, int32: Murmur3_x86_32 with ``seed``.

    int as ``hashInt``, bigint as ``hashLong``; string and binary through
    ``hashUnsafeBytes``, which mixes each tail byte sign-extended as a whole block
    (not standard murmur3). A null (None, NaN, pandas NA, an Arrow or polars null)
    hashes as the seed.

    Examples
    --------
    >>> from fastring.compat import spark_hash
    >>> spark_hash(["Spark", None])
    array([228093765,        42], dtype=int32)
    """
    seed_bits = _java_int(seed)

    def compute(values: Any) -> np.ndarray:
        return _hash(values, _SPARK, key_type, "spark:murmur3", seed_bits).view(np.int32)

    return _nulls_as(compute, keys, np.int32(seed))


def spark_xxhash64(keys: Any, *, key_type: str | None = None, seed: int = 42) -> np.ndarray:
    """Spark SQL ``xxhash64(col)`` of each value, int64 (XXH64 with ``seed``; int as
    its 4 bytes, bigint as its 8, little-endian). A null hashes as the seed.

    Examples
    --------
    >>> from fastring.compat import spark_xxhash64
    >>> spark_xxhash64(["Spark"])
    array([-4294468057691064905])
    """
    seed = check_int(seed, "seed", -(2**63), 2**63 - 1)

    def compute(values: Any) -> np.ndarray:
        return _hash(values, _SPARK, key_type, "xxh64", seed & 0xFFFFFFFFFFFFFFFF).view(np.int64)

    return _nulls_as(compute, keys, np.int64(seed))


def spark_partition(keys: Any, num_partitions: int, *, key_type: str | None = None) -> np.ndarray:
    """The partition ``df.repartition(num_partitions, col)`` puts each row in:
    ``pmod(hash(col), num_partitions)`` (HashPartitioning, seed 42).

    Examples
    --------
    >>> from fastring.compat import spark_partition
    >>> spark_partition(["Spark", None], 200)
    array([165,  42], dtype=int32)
    """
    n = _count(num_partitions, "num_partitions")
    return np.mod(spark_hash(keys, key_type=key_type).astype(np.int64), n).astype(np.int32)


# --------------------------------------------------------------------------- Iceberg


def iceberg_bucket(keys: Any, num_buckets: int, *, key_type: str | None = None) -> np.ndarray:
    """Iceberg's ``bucket[num_buckets]`` transform of each value, int32:
    ``(murmur3_x86_32(bytes) & Integer.MAX_VALUE) % num_buckets``.

    int and long both hash as an 8-byte little-endian long; string as UTF-8, binary
    as it is; uuid as its 16 big-endian bytes (``uuid.UUID`` or 16-byte bytes).

    Examples
    --------
    >>> from fastring.compat import iceberg_bucket
    >>> iceberg_bucket([34], 100, key_type="int"), iceberg_bucket(["iceberg"], 100)
    (array([79], dtype=int32), array([89], dtype=int32))
    """
    n = _count(num_buckets, "num_buckets")
    h = _hash(keys, _ICEBERG, key_type, "murmur3_32")
    return _positive_mod(h, n)


# --------------------------------------------------------------------------- Elasticsearch


def default_routing_num_shards(num_shards: int) -> int:
    """Elasticsearch's default ``index.number_of_routing_shards`` (indices created
    since 7.0): the largest ``num_shards * 2**k <= 1024``, with k >= 1.

    Parameters
    ----------
    num_shards : int
        The index's ``number_of_shards`` (1 to 2**31 - 1).

    Returns
    -------
    int

    Examples
    --------
    >>> from fastring.compat import default_routing_num_shards
    >>> default_routing_num_shards(5), default_routing_num_shards(1), default_routing_num_shards(30)
    (640, 1024, 960)
    """
    n = _count(num_shards, "num_shards")
    splits = max(1, 10 - (n - 1).bit_length())
    return n << splits


def elasticsearch_shard(keys: Any, num_shards: int, *, routing_num_shards: int | None = None) -> np.ndarray:
    """The shard of each document's ``_routing`` (or ``_id``), int32:
    ``floorMod(murmur3(UTF-16 code units), rns) // (rns // num_shards)``.

    The hash is MurmurHash3_x86_32 (seed 0) of the string's UTF-16 code units, each as
    two little-endian bytes (a character beyond the BMP is its two surrogates).
    ``routing_num_shards`` defaults as for indices created since 7.0; it must be a
    multiple of ``num_shards``.

    Examples
    --------
    >>> from fastring.compat import elasticsearch_shard
    >>> elasticsearch_shard(["hello", "hell"], 5)
    array([4, 1], dtype=int32)
    """
    n = _count(num_shards, "num_shards")
    if routing_num_shards is None:
        rns = default_routing_num_shards(n)
    else:
        rns = _count(routing_num_shards, "routing_num_shards")
    if rns % n:
        raise ValueError(f"routing_num_shards ({rns}) must be a multiple of num_shards ({n})")
    algo, dtype, _ = resolve_algorithm("elasticsearch:murmur3_utf16")
    batch = as_key_batch(keys)
    _check_text(batch, "Elasticsearch routing string", types=(str,))
    h = np.empty(len(batch), dtype=dtype)
    hash_batch(batch, algo, 0, h)
    return (np.mod(h.view(np.int32).astype(np.int64), rns) // (rns // n)).astype(np.int32)


# --------------------------------------------------------------------------- pandas and Dask


def _numeric_array(keys: Any) -> np.ndarray | None:
    """The keys as a NumPy numeric (int, uint, bool, float) array, or None for text."""
    array = None
    if isinstance(keys, np.ndarray):
        array = keys
    elif type(keys).__module__.startswith("pandas") and hasattr(keys, "dtype"):
        dtype = getattr(keys.dtype, "numpy_dtype", keys.dtype)
        if isinstance(dtype, np.dtype) and dtype.kind in "iubf":
            if bool(np.asarray(keys.isna()).any()):
                position = int(np.flatnonzero(np.asarray(keys.isna()))[0])
                raise at_position(ValueError(f"key at position {position} is missing (null)"), position)
            array = keys.to_numpy(dtype=dtype)
    elif isinstance(keys, (list, tuple)) and keys and all(type(k) in (int, float, bool) for k in keys):
        array = np.asarray(keys)
    if array is None or array.dtype.kind not in "iubf":
        return None
    if array.ndim != 1:
        raise ValueError(f"key arrays must be one-dimensional, got shape {array.shape}")
    return array


def _pandas_numeric(array: np.ndarray) -> np.ndarray:
    """pandas' hash of a numeric array: each value's bits at its width, widened, mixed."""
    if array.dtype.kind == "b":
        bits = array.astype(np.uint64)
    else:
        width = array.dtype.itemsize
        bits = array.view(f"u{width}").astype(np.uint64)
        if array.dtype.kind == "f":
            # pandas canonicalizes NaN (any sign or payload) and -0.0 first.
            bits[np.isnan(array)] = np.array(np.nan, dtype=array.dtype).view(f"u{width}")
            bits[bits == np.array(-0.0, dtype=array.dtype).view(f"u{width}")] = 0
    from .._hashfuncs_py import mix64_array

    return mix64_array(bits)


def pandas_hash(keys: Any) -> np.ndarray:
    """``pandas.util.hash_array`` of the keys (default ``hash_key``, UTF-8), uint64.

    Strings (and bytes) hash with SipHash-2-4 and pandas' key "0123456789123456";
    numeric arrays as their bits at their own width; then pandas' finalizer. A null
    among strings (None, NaN, pandas NA) is ``2**64 - 1``, as with the default
    ``categorize=True`` (``categorize=False`` hashes the text "None" / "nan" instead).

    Examples
    --------
    >>> import numpy as np
    >>> from fastring.compat import pandas_hash
    >>> pandas_hash(["a", "b"])
    array([13950350942979735504, 12688059582079114975], dtype=uint64)
    >>> pandas_hash(np.array([1, 2]))
    array([ 6238072747940578789, 15839785061582574730], dtype=uint64)
    """
    numeric = _numeric_array(keys)
    if numeric is not None:
        return _pandas_numeric(numeric)
    algo, dtype, _ = resolve_algorithm("pandas:siphash")

    def compute(values: Any) -> np.ndarray:
        batch = as_key_batch(values)
        _check_text(batch, "string for pandas.util.hash_array", objects=False)
        out = np.empty(len(batch), dtype=dtype)
        hash_batch(batch, algo, 0, out)
        return out

    # hash_array (categorize=True, as hash_pandas_object and Dask use it) maps a null
    # to 2**64 - 1.
    return _nulls_as(compute, keys, np.uint64(0xFFFFFFFFFFFFFFFF))


def dask_partition(keys: Any, npartitions: int) -> np.ndarray:
    """The output partition of each row of ``ddf.shuffle(on=col, npartitions=n)``,
    int32, for a one-column key.

    Dask casts a numeric key column to float64, hashes the one-column frame with
    ``pandas.util.hash_pandas_object(index=False)`` (the column's hash, combined as a
    one-element tuple) and takes it modulo ``npartitions``.

    Examples
    --------
    >>> from fastring.compat import dask_partition
    >>> dask_partition(["a", "b", "c"], 4)
    array([3, 0, 3], dtype=int32)
    """
    n = _count(npartitions, "npartitions")
    numeric = _numeric_array(keys)
    h = _pandas_numeric(numeric.astype(np.float64)) if numeric is not None else pandas_hash(keys)
    # pandas' combine_hash_arrays for one array (CPython's tuple hash, in uint64).
    h ^= np.uint64(0x345678)
    h *= np.uint64(1000003)
    h += np.uint64(97531)
    return (h % np.uint64(n)).astype(np.int32)
