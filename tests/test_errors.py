"""Bad input: a clear exception naming the position and type, and nothing written to out."""

import math
import re

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from fastring import hash_key, hash_keys

pytestmark = pytest.mark.usefixtures("twin")

SENTINEL = np.uint64(0xDEADBEEF)


def assert_untouched_out(keys, exc_type, match, algorithm="xxh64"):
    dtype = np.uint32 if algorithm in ("murmur3_32", "md5_32") else np.uint64
    n = len(keys)
    out = np.full(n, SENTINEL, dtype=dtype)
    with pytest.raises(exc_type, match=match):
        hash_keys(keys, algorithm, out=out)
    assert (out == SENTINEL).all(), "a failed call wrote into out"
    with pytest.raises(exc_type, match=match):
        hash_keys(keys, algorithm)


@pytest.mark.parametrize(
    "bad, type_name",
    [
        (1.5, "float"),
        (math.nan, "float"),
        (np.float64(2.0), "numpy.float64"),
        (None, "NoneType"),
        (["nested"], "list"),
        ({"a": 1}, "dict"),
        ((1, 2), "tuple"),
        (object(), "object"),
        (1 + 2j, "complex"),
    ],
)
@pytest.mark.parametrize("position", [0, 2, 4])
def test_unsupported_key_type_names_position_and_type(bad, type_name, position):
    keys = ["a", "b", "c", 4, b"e"]
    keys[position] = bad
    assert_untouched_out(keys, TypeError, rf"position {position} has unsupported type {type_name}")
    assert_untouched_out(keys, TypeError, rf"position {position}", algorithm="murmur3_32")
    with pytest.raises(TypeError, match=rf"key has unsupported type {type_name}"):
        hash_key(bad)


def test_float_message_says_what_to_do():
    with pytest.raises(TypeError, match="floats are never keys"):
        hash_keys(["a", 1.0])


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30, -(10**30)])
def test_integers_outside_the_key_range(value):
    keys = [1, 2, value, 4]
    assert_untouched_out(keys, OverflowError, r"position 2 is -?\d+, outside the integer key range")
    with pytest.raises(OverflowError, match=r"key is -?\d+, outside"):
        hash_key(value)


def test_integer_range_edges_are_accepted():
    # -2**63 and 2**64 - 1 are the ends of the range: their 8 bytes, little-endian.
    edges = hash_keys([-(2**63), 2**64 - 1, 2**63, -1])
    expected = [hash_key(b"\x00" * 7 + b"\x80"), hash_key(b"\xff" * 8), hash_key(b"\x00" * 7 + b"\x80"), hash_key(b"\xff" * 8)]
    assert edges.tolist() == expected


def test_lone_surrogate_is_an_error():
    keys = ["ok", "bad \ud800 key"]
    assert_untouched_out(keys, ValueError, r"position 1 is a str that is not valid Unicode")
    with pytest.raises(ValueError, match="no UTF-8 encoding"):
        hash_key("\udfff")
    with pytest.raises(ValueError, match="position 1"):
        hash_keys(np.array(keys))


def test_non_contiguous_memoryview_key():
    strided = memoryview(np.arange(10, dtype=np.uint8))[::2]
    with pytest.raises(ValueError, match="position 1 is a non-contiguous memoryview"):
        hash_keys([b"a", strided])


def test_bad_key_in_object_array_and_pandas():
    assert_untouched_out(np.array(["a", None, "c"], dtype=object), TypeError, "position 1 has unsupported type NoneType")
    with pytest.raises(TypeError, match="position 2 has unsupported type float"):
        hash_keys(pd.Series(["a", "b", 1.5], dtype=object))
    with pytest.raises(TypeError, match=r"position 0 has unsupported type (numpy\.)?float"):
        hash_keys(pd.Series(pd.Categorical([1.0, 2.5, 1.0])))
    mixed_categories = pd.Series(pd.Categorical(["a", 2.5, "a"], categories=["a", 2.5]))
    with pytest.raises(TypeError, match="position 1 has unsupported type float"):
        hash_keys(mixed_categories)
    np.testing.assert_array_equal(  # a bad category that no key uses is harmless
        hash_keys(pd.Series(pd.Categorical(["a", "a"], categories=["a", 2.5]))), hash_keys(["a", "a"])
    )


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "datetime64[ns]", "timedelta64[s]", "V4"])
def test_unsupported_numpy_dtypes(dtype):
    with pytest.raises(TypeError, match=re.escape(f"position 0 has unsupported type: NumPy dtype {np.dtype(dtype)}")):
        hash_keys(np.zeros(3, dtype=dtype))


def test_array_shapes():
    with pytest.raises(ValueError, match="one-dimensional"):
        hash_keys(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="0-d array"):
        hash_keys(np.array(5))


def test_single_key_passed_as_container():
    for single in ("abc", b"abc", bytearray(b"abc")):
        with pytest.raises(TypeError, match="not a single"):
            hash_keys(single)
    with pytest.raises(TypeError, match="mapping"):
        hash_keys({"a": 1})
    with pytest.raises(TypeError, match="iterable"):
        hash_keys(42)


def test_arrow_nulls_name_the_first_null():
    assert_untouched_out(pa.array(["a", "b", None, None]), ValueError, "position 2 is null")
    with pytest.raises(ValueError, match="position 3 is null"):
        hash_keys(pa.array([1, 2, 3, None]))
    with pytest.raises(ValueError, match="position 4 is null"):  # positions count across chunks
        hash_keys(pa.chunked_array([["a", "b", "c"], ["d", None]]))
    with pytest.raises(ValueError, match="position 1 is null"):
        hash_keys(pa.array(["a", None, "a"]).dictionary_encode())
    with pytest.raises(ValueError, match="position 1 is null"):  # offset into a sliced array
        hash_keys(pa.array(["a", "b", None, "d"]).slice(1))
    with pytest.raises(ValueError, match="position 0 is null"):
        hash_keys(pl.Series(["a", "b"]).extend(pl.Series([None], dtype=pl.String))[2:])
    with pytest.raises(ValueError, match="position 1 is null"):
        hash_keys(pd.Series(["a", None], dtype="string[pyarrow]"))
    with pytest.raises(ValueError, match="position 2 is null"):
        hash_keys(pd.Series(["a", "b", None], dtype="category"))
    with pytest.raises(ValueError, match="position 0 is null"):
        hash_keys(pd.Series([None, 1], dtype="Int64"))


def test_arrow_nulls_in_a_valid_slice_are_fine():
    array = pa.array([None, "a", "b"]).slice(1)
    np.testing.assert_array_equal(hash_keys(array), hash_keys(["a", "b"]))


@pytest.mark.parametrize(
    "array, name",
    [
        (pa.array([1.5, 2.5]), "float64"),
        (pa.array([[1], [2]]), "list"),
        (pa.array([{"a": 1}]), "struct"),
        (pa.array([None, None]), "null"),
        (pa.array([1, 2], type=pa.timestamp("s")), "timestamp"),
    ],
)
def test_unsupported_arrow_types(array, name):
    with pytest.raises(TypeError, match=rf"unsupported type: Arrow format .*\({name}\)"):
        hash_keys(array)


def test_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown algorithm 'sha1'; choose one of xxh64"):
        hash_keys(["a"], "sha1")
    with pytest.raises(ValueError, match="unknown algorithm"):
        hash_key("a", None)


@pytest.mark.parametrize(
    "algorithm, seed, match",
    [
        ("xxh64", -1, r"\[0, 2\*\*64\)"),
        ("xxh64", 2**64, r"\[0, 2\*\*64\)"),
        ("murmur3_32", 2**32, r"\[0, 2\*\*32\)"),
        ("murmur3_64", -5, r"\[0, 2\*\*32\)"),
        ("fnv1a_64", 1, "takes no seed"),
        ("md5_32", 7, "takes no seed"),
    ],
)
def test_seed_out_of_range(algorithm, seed, match):
    with pytest.raises(ValueError, match=match):
        hash_keys(["a"], algorithm, seed=seed)
    with pytest.raises(ValueError, match=match):
        hash_key("a", algorithm, seed=seed)


@pytest.mark.parametrize("seed", [1.0, "1", None, True])
def test_seed_must_be_an_int(seed):
    with pytest.raises(TypeError, match="seed must be an int"):
        hash_keys(["a"], seed=seed)


def test_bad_out():
    keys = ["a", "b", "c"]
    with pytest.raises(ValueError, match="dtype uint32; this algorithm writes uint64"):
        hash_keys(keys, out=np.zeros(3, dtype=np.uint32))
    with pytest.raises(ValueError, match="dtype int64"):
        hash_keys(keys, out=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"shape \(4,\); expected \(3,\)"):
        hash_keys(keys, out=np.zeros(4, dtype=np.uint64))
    with pytest.raises(ValueError, match="shape"):
        hash_keys(keys, out=np.zeros((3, 1), dtype=np.uint64))
    readonly = np.zeros(3, dtype=np.uint64)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="not writeable"):
        hash_keys(keys, out=readonly)
    with pytest.raises(ValueError, match="C-contiguous"):
        hash_keys(keys, out=np.zeros(6, dtype=np.uint64)[::2])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        hash_keys(keys, out=[0, 0, 0])
