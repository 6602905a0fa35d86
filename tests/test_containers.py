"""Every key container follows one contract: hash_keys(c) == [hash_key(k) for k in c]."""

import array as pyarray
import collections

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from fastring import ALGORITHMS, hash_key, hash_keys

pytestmark = pytest.mark.usefixtures("twin")

WORDS = ["alpha", "", "βeta", "user:123456", "a" * 40, "日本", "x" * 300, "alpha"]
INTS = [0, 1, -1, 5, 2**31, -(2**40), 2**63 - 1, -(2**63)]


def per_key(keys, algorithm="xxh64"):
    dtype = np.uint32 if algorithm in ("murmur3_32", "md5_32") else np.uint64
    return np.array([hash_key(k, algorithm) for k in keys], dtype=dtype)


def check(container, python_keys, algorithm="xxh64"):
    np.testing.assert_array_equal(hash_keys(container, algorithm), per_key(python_keys, algorithm))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_python_sequences_and_iterables(algorithm):
    mixed = ["a", b"b", bytearray(b"c"), memoryview(b"d"), 5, -7, True]
    check(mixed, mixed, algorithm)
    check(tuple(mixed), mixed, algorithm)
    check(iter(mixed), mixed, algorithm)
    check((k for k in WORDS), WORDS, algorithm)
    check(collections.deque(INTS), INTS, algorithm)
    check(range(10), list(range(10)), algorithm)
    check({"k": 1}.keys(), ["k"], algorithm)


def test_numpy_integer_arrays_any_width_and_strided():
    base = np.arange(-50, 50, dtype=np.int64)
    for dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        values = base.astype(dtype)  # wraps for unsigned: the array's own values are the keys
        check(values, values.tolist())
        check(values[::3], values[::3].tolist())  # strided
        check(values[::-1], values[::-1].tolist())


def test_numpy_s_arrays_drop_trailing_nuls_like_numpy():
    keys = np.array([b"abc", b"a", b"", b"a\x00b", b"xyz\x00"], dtype="S6")
    assert keys.tolist() == [b"abc", b"a", b"", b"a\x00b", b"xyz"]  # NumPy's own rule
    check(keys, keys.tolist())
    check(keys[::2], keys[::2].tolist())
    check(np.array([], dtype="S3"), [])


def test_numpy_u_and_object_arrays():
    check(np.array(WORDS), WORDS)
    objects = np.array(["a", b"b", 3, np.int16(-2)], dtype=object)
    check(objects, ["a", b"b", 3, -2])
    check(np.array(WORDS, dtype=object)[::2], WORDS[::2])


def test_memoryview_container_is_an_array():
    values = np.arange(5, dtype=np.int32)
    check(memoryview(values), values.tolist())
    check(pyarray.array("q", [1, -2, 3]), [1, -2, 3])


def test_pandas_series_and_index():
    for dtype in ("object", "str", "string[python]", "string[pyarrow]", "category"):
        series = pd.Series(WORDS, dtype=dtype)
        check(series, WORDS)
        check(pd.Index(WORDS, dtype=dtype), WORDS)
    for dtype in ("int8", "int64", "uint64", "Int64", "UInt32"):
        series = pd.Series([0, 1, 2, 100], dtype=dtype)
        check(series, [0, 1, 2, 100])
        check(pd.Index([0, 1, 2, 100], dtype=dtype), [0, 1, 2, 100])
    categorical = pd.Series(pd.Categorical([10, 20, 10, 30]))
    check(categorical, [10, 20, 10, 30])
    check(pd.Series(WORDS)[::2], WORDS[::2])


def test_pyarrow_arrays_every_supported_type():
    for type_ in (pa.string(), pa.large_string(), pa.string_view()):
        check(pa.array(WORDS, type=type_), WORDS)
    data = [w.encode() for w in WORDS] + [b"\x00\xff"]
    for type_ in (pa.binary(), pa.large_binary(), pa.binary_view()):
        check(pa.array(data, type=type_), data)
    for type_ in (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()):
        values = [0, 1, 5, 100]
        check(pa.array(values, type=type_), values)
    check(pa.array(INTS, type=pa.int64()), INTS)
    check(pa.array([True, False, True]), [1, 0, 1])


def test_pyarrow_slices_chunks_and_dictionaries():
    array = pa.array(WORDS * 3)
    check(array.slice(3, 10), (WORDS * 3)[3:13])
    check(pa.array(INTS).slice(2, 4), INTS[2:6])
    check(pa.array(WORDS, type=pa.string_view()).slice(1, 5), WORDS[1:6])
    chunked = pa.chunked_array([WORDS[:3], WORDS[3:], []])
    check(chunked, WORDS)
    dictionary = pa.array(WORDS).dictionary_encode()
    check(dictionary, WORDS)
    check(dictionary.slice(2, 4), WORDS[2:6])
    check(pa.chunked_array([dictionary, dictionary]), WORDS + WORDS)


def test_polars_series():
    check(pl.Series(WORDS), WORDS)
    check(pl.Series([w.encode() for w in WORDS], dtype=pl.Binary), [w.encode() for w in WORDS])
    check(pl.Series(INTS, dtype=pl.Int64), INTS)
    check(pl.Series([1, 2, 3], dtype=pl.UInt8), [1, 2, 3])
    check(pl.Series(WORDS, dtype=pl.Categorical), WORDS)
    check(pl.Series(WORDS).slice(2, 4), WORDS[2:6])
    check(pl.concat([pl.Series(WORDS), pl.Series(WORDS)], rechunk=False), WORDS + WORDS)


def test_long_strings_in_views_come_from_every_data_buffer():
    words = [f"{'long-string-' * 3}{i}" for i in range(2000)] + ["short"]
    check(pa.array(words, type=pa.string_view()), words)
    check(pl.Series(words), words)


def test_empty_containers():
    for empty in ([], (), np.array([], dtype=np.int64), np.array([], dtype="U1"), pa.array([], pa.string()), pl.Series([], dtype=pl.String), pd.Series([], dtype=object)):
        assert hash_keys(empty).shape == (0,)


# -- the compiled twin's short way into flat Arrow arrays -------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fastring._implementation import twin_module, use_twin  # noqa: E402

FLAT_TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary(), pa.int64(), pa.uint64()]


def _flat_values(kind):
    if kind in (pa.string(), pa.large_string()):
        return st.text(max_size=20)
    if kind in (pa.binary(), pa.large_binary()):
        return st.binary(max_size=20)
    if kind == pa.int64():
        return st.integers(-(2**63), 2**63 - 1)
    return st.integers(0, 2**64 - 1)


@st.composite
def flat_arrays(draw):
    kind = draw(st.sampled_from(FLAT_TYPES))
    values = draw(st.lists(st.one_of(_flat_values(kind), st.none()) if draw(st.booleans()) else _flat_values(kind), max_size=30))
    array = pa.array(values, type=kind)
    start = draw(st.integers(0, len(values)))
    stop = draw(st.integers(start, len(values)))
    return array.slice(start, stop - start) if draw(st.booleans()) else array


@pytest.mark.compiled_only
@settings(max_examples=300, deadline=None)
@given(flat_arrays())
def test_the_short_way_reads_what_the_general_reader_reads(array):
    compiled = twin_module("hashing", "cython")
    batch = compiled.arrow_flat(*array.__arrow_c_array__())
    with use_twin("python"):  # the pure twin has no short way: the ctypes reader
        assert twin_module("hashing", "python").arrow_flat(*array.__arrow_c_array__()) is None
        try:
            general = hash_keys(array)
        except ValueError as exc:  # nulls: the short way must have left it to the reader
            assert batch is None and "missing" in str(exc)
            return
    if len(array) == 0 or array.null_count:
        assert batch is None
    with use_twin("cython"):
        np.testing.assert_array_equal(hash_keys(array), general)
    if batch is not None:
        buffers = [batch.values] if hasattr(batch, "values") else [batch.data, batch.offsets]
        assert not any(b.flags.writeable for b in buffers)


@pytest.mark.compiled_only
def test_the_short_way_keeps_the_arrow_memory_alive_and_declines_the_rest():
    import gc

    from fastring._keys import as_key_batch

    with use_twin("cython"):
        words = [f"user:{i}" * 3 for i in range(50)]
        batch = as_key_batch(pa.array(words)[5:])  # the array dies here
        gc.collect()
        assert bytes(batch.data[batch.offsets[0] : batch.offsets[1]]) == words[5].encode()
        compiled = twin_module("hashing", "cython")
        declined = [
            pa.array([1, 2], pa.int32()),  # other widths: the general reader widens them
            pa.array(["a", None]),
            pa.array(["a", "b"]).dictionary_encode(),
            pa.array(["a", "b"], pa.string_view()),
            pa.array(["", ""]),  # no data buffer to view
            pa.array([], pa.string()),
            pa.record_batch({"k": ["a"]}),  # a table: check_column names it
        ]
        for value in declined:
            assert compiled.arrow_flat(*value.__arrow_c_array__()) is None
        with pytest.raises(TypeError, match="not a key column"):
            hash_keys(pa.record_batch({"k": ["a"]}))
        np.testing.assert_array_equal(hash_keys(pa.array([1, -2], pa.int32())), hash_keys([1, -2]))


def test_an_empty_slice_of_a_string_array_is_no_keys(twin):
    for kind in (pa.string(), pa.large_binary()):
        empty = pa.array(["abc", "d"], kind).slice(1, 0)  # its one offset is 3, not 0
        assert hash_keys(empty).tolist() == []
