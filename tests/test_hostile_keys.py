"""Hostile key containers: malformed Arrow producers, buffers written while they are
hashed, outputs that overlap their inputs, extension types and whole tables."""

import ctypes
import struct
import threading
import time

import numpy as np
import pytest

from fastring import HashRing, hash_keys
from fastring._arrow import ArrowArray, ArrowSchema

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

_RELEASE_SCHEMA = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))(lambda p: None)
_RELEASE_ARRAY = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))(lambda p: None)


class FakeArrow:
    """An Arrow producer that exports exactly the structs it is given (pyarrow refuses
    to make malformed arrays, so these are made by hand)."""

    def __init__(self, fmt, length, buffers, *, n_buffers=None, offset=0, null_count=0, metadata=None):
        self.buffers = [None if b is None else np.ascontiguousarray(b) for b in buffers]
        self.pointers = (ctypes.c_void_p * max(1, len(buffers)))(
            *[None if b is None else b.ctypes.data for b in self.buffers]
        )
        self.fmt = fmt.encode()
        self.metadata = metadata
        schema = ArrowSchema()
        schema.format = self.fmt
        schema.metadata = ctypes.cast(ctypes.c_char_p(metadata), ctypes.c_void_p) if metadata else None
        schema.release = _RELEASE_SCHEMA
        array = ArrowArray()
        array.length = length
        array.offset = offset
        array.null_count = null_count
        array.n_buffers = len(buffers) if n_buffers is None else n_buffers
        array.buffers = ctypes.cast(self.pointers, ctypes.POINTER(ctypes.c_void_p))
        array.release = _RELEASE_ARRAY
        self.schema, self.array = schema, array

    def __arrow_c_array__(self, requested_schema=None):
        return (
            _capsule_new(ctypes.addressof(self.schema), b"arrow_schema", None),
            _capsule_new(ctypes.addressof(self.array), b"arrow_array", None),
        )


def extension_metadata(name):
    pairs = [(b"ARROW:extension:name", name.encode()), (b"ARROW:extension:metadata", b"{}")]
    out = struct.pack("=i", len(pairs))
    for key, value in pairs:
        out += struct.pack("=i", len(key)) + key + struct.pack("=i", len(value)) + value
    return out


def test_fake_producer_gives_the_right_answer(twin):
    values = np.array([5, -1, 2**40], dtype=np.int64)
    np.testing.assert_array_equal(hash_keys(FakeArrow("l", 3, [None, values])), hash_keys(values))
    data = np.frombuffer(b"abcde", dtype=np.uint8)
    offsets = np.array([0, 2, 2, 5], dtype=np.int32)
    np.testing.assert_array_equal(hash_keys(FakeArrow("u", 3, [None, offsets, data])), hash_keys(["ab", "", "cde"]))


@pytest.mark.parametrize(
    "fmt, buffers, n_buffers, match",
    [
        ("l", [None, np.arange(3, dtype=np.int64)], 1, "needs buffer 1"),
        ("u", [None, np.array([0, 1, 2, 3], np.int32), np.zeros(3, np.uint8)], 2, "needs buffer 2"),
        ("b", [None, np.zeros(1, np.uint8)], 1, "needs buffer 1"),
        ("vu", [None, np.zeros(48, np.uint8)], 2, "needs buffer 2"),
        ("l", [None, np.arange(3, dtype=np.int64)], -1, "buffer"),
    ],
)
def test_undeclared_buffers_are_never_read(twin, fmt, buffers, n_buffers, match):
    with pytest.raises(ValueError, match=match):
        hash_keys(FakeArrow(fmt, 3, buffers, n_buffers=n_buffers))


@pytest.mark.parametrize("length, offset", [(-1, 0), (3, -2), (-5, -5)])
def test_negative_length_or_offset_is_an_error(twin, length, offset):
    with pytest.raises(ValueError, match="negative length"):
        hash_keys(FakeArrow("l", length, [None, np.arange(8, dtype=np.int64)], offset=offset))


def test_offsets_past_the_data_name_the_key(twin):
    # (The data size is offsets[-1]: the C data interface gives no other.)
    data = np.frombuffer(b"abc", dtype=np.uint8)
    for offsets in ([0, 2, 1], [-4, 0, 1], [0, 3, 2, 3]):
        with pytest.raises(ValueError, match="position"):
            hash_keys(FakeArrow("u", len(offsets) - 1, [None, np.array(offsets, np.int32), data]))


def test_views_past_their_buffer_are_an_error(twin):
    view = np.zeros(16, np.uint8)
    view[:4] = np.frombuffer(struct.pack("<i", 20), np.uint8)  # 20 bytes in buffer 0 at offset 0
    sizes = np.array([5], dtype=np.int64)
    with pytest.raises(ValueError, match="outside its data buffer"):
        hash_keys(FakeArrow("vu", 1, [None, view, np.zeros(5, np.uint8), sizes]))


def test_extension_types_are_refused(twin):
    fake = FakeArrow("l", 3, [None, np.arange(3, dtype=np.int64)], metadata=extension_metadata("pandas.period"))
    with pytest.raises(TypeError, match="extension type 'pandas.period'"):
        hash_keys(fake)


def test_pandas_period_columns_are_refused_not_hashed_as_ordinals(twin):
    monthly = pd.Series(pd.period_range("1970-01", periods=3, freq="M"))
    daily = pd.Series(pd.period_range("1970-01-01", periods=3, freq="D"))
    for column in (monthly, daily, pa.array(monthly), pd.Series(pd.interval_range(0, 3))):
        with pytest.raises(TypeError, match="unsupported type"):
            hash_keys(column)
    # The same keys as a list were always refused: the two ways now agree.
    with pytest.raises(TypeError, match="unsupported type"):
        hash_keys(list(monthly))


@pytest.mark.parametrize(
    "table",
    [
        lambda: pd.DataFrame({"user_id": [1, 2]}),
        lambda: pa.table({"user_id": [1, 2]}),
        lambda: pa.record_batch({"user_id": [1, 2]}),
        lambda: pl.DataFrame({"user_id": [1, 2]}),
    ],
    ids=["pandas", "pyarrow-table", "pyarrow-batch", "polars"],
)
def test_whole_tables_are_told_to_pass_a_column(twin, table):
    from fastring import Maglev, compat

    for call in (
        hash_keys,
        HashRing(["a", "b"]).lookup_many,
        Maglev(["a", "b"]).lookup_many,
        lambda t: compat.kafka_partition(t, 8),
        compat.redis_slot,
        lambda t: compat.spark_partition(t, 8),
    ):
        with pytest.raises(TypeError, match=r"is not a key column; pass a column.*on='user_id'"):
            call(table())


def test_output_overlapping_the_keys_is_still_right(twin):
    a = np.arange(100, dtype=np.uint64)
    expected = hash_keys(a[:-1].copy())
    hash_keys(a[:-1], out=a[1:])
    np.testing.assert_array_equal(a[1:], expected)
    b = np.arange(50, dtype=np.uint64)
    expected = hash_keys(b[1:].copy())
    hash_keys(b[1:], out=b[:-1])
    np.testing.assert_array_equal(b[:-1], expected)


@pytest.mark.compiled_only
def test_offsets_written_while_hashing_never_read_outside_the_data(compiled):
    """A zero-copy offsets buffer written by another thread mid-hash: each call either
    hashes spans within the data or names a bad key, and never reads past the data."""
    compiled_hashing, _ = compiled["hashing"]
    n = 200_000
    data = np.frombuffer(b"x" * n, dtype=np.uint8)
    offsets = np.arange(n + 1, dtype=np.int64)
    out = np.empty(n, dtype=np.uint64)
    stop = threading.Event()

    def scribble():
        k = 0
        while not stop.is_set():
            offsets[1000 + k % 1000] = 2**40 if k % 2 else 1000 + k % 1000
            k += 1

    writer = threading.Thread(target=scribble)
    writer.start()
    errors = 0
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                compiled_hashing.hash_packed(data, offsets, 0, 0, out)
            except ValueError as exc:
                assert "position" in str(exc)
                errors += 1
    finally:
        stop.set()
        writer.join()
    # Reaching here without a crash is the point. Once the writer is done, the same
    # buffers hash as the pure twin says they must.
    offsets[1000:2000] = np.arange(1000, 2000)
    compiled_hashing.hash_packed(data, offsets, 0, 0, out)
    np.testing.assert_array_equal(out, hash_keys([b"x"] * n))
