"""Hypothesis: the compiled and pure twins agree on arbitrary keys, seeds, algorithms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring._keycontract_py import key_bytes
from fastring.hashing import ALGORITHMS, resolve_algorithm

keys = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
)


@st.composite
def algorithm_and_seed(draw):
    algorithm = draw(st.sampled_from(ALGORITHMS))
    limit = {"xxh64": 2**64, "xxh3_64": 2**64, "murmur3_32": 2**32, "murmur3_64": 2**32}.get(algorithm, 1)
    seed = draw(st.integers(min_value=0, max_value=limit - 1))
    return resolve_algorithm(algorithm, seed)


def run_both(compiled, kernel, *args, dtype):
    c, p = compiled["hashing"]
    n = args[-1]
    out_c, out_p = np.empty(n, dtype), np.empty(n, dtype)
    getattr(c, kernel)(*args[:-1], out_c)
    getattr(p, kernel)(*args[:-1], out_p)
    return out_c, out_p


@settings(max_examples=300, deadline=None)
@given(st.lists(keys, max_size=30), algorithm_and_seed())
def test_objects_parity(compiled, items, spec):
    algo, dtype, seed = spec
    out_c, out_p = run_both(compiled, "hash_objects", list(items), algo, seed, len(items), dtype=dtype)
    np.testing.assert_array_equal(out_c, out_p)
    c, p = compiled["hashing"]
    for item in items[:5]:
        data = key_bytes(item)
        assert c.hash_bytes(data, algo, seed) == p.hash_bytes(data, algo, seed)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=260), max_size=20), algorithm_and_seed(), st.sampled_from([np.int32, np.int64]))
def test_packed_parity(compiled, items, spec, offset_dtype):
    algo, dtype, seed = spec
    data = np.frombuffer(b"".join(items), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(i) for i in items])]).astype(offset_dtype)
    out_c, out_p = run_both(compiled, "hash_packed", data, offsets, algo, seed, len(items), dtype=dtype)
    np.testing.assert_array_equal(out_c, out_p)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=50), algorithm_and_seed())
def test_uint64_parity(compiled, values, spec):
    algo, dtype, seed = spec
    array = np.array(values, dtype=np.uint64)
    out_c, out_p = run_both(compiled, "hash_uint64", array, algo, seed, len(values), dtype=dtype)
    np.testing.assert_array_equal(out_c, out_p)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=20), algorithm_and_seed())
def test_fixed_parity(compiled, items, spec):
    algo, dtype, seed = spec
    array = np.array(items, dtype="S12")
    data = array.view(np.uint8)
    out_c, out_p = run_both(compiled, "hash_fixed", data, 12, algo, seed, len(items), dtype=dtype)
    np.testing.assert_array_equal(out_c, out_p)


@pytest.mark.parametrize("twin_index", [0, 1])
def test_kernels_reject_wrong_out_length(compiled, twin_index):
    module = compiled["hashing"][twin_index]
    with pytest.raises(ValueError):
        module.hash_uint64(np.zeros(3, np.uint64), 0, 0, np.zeros(2, np.uint64))
    with pytest.raises(ValueError):
        module.hash_objects(["a"], 0, 0, np.zeros(2, np.uint64))


@settings(max_examples=100, deadline=None)
@given(st.lists(keys, max_size=30), algorithm_and_seed())
def test_object_array_parity(compiled, items, spec):
    """Object arrays are read in place by the compiled twin; same hashes as the list."""
    algo, dtype, seed = spec
    array = np.empty(len(items), dtype=object)
    array[:] = items
    c, p = compiled["hashing"]
    from_list, from_array_c, from_array_p = (np.empty(len(items), dtype) for _ in range(3))
    c.hash_objects(list(items), algo, seed, from_list)
    c.hash_objects(array, algo, seed, from_array_c)
    p.hash_objects(array, algo, seed, from_array_p)
    np.testing.assert_array_equal(from_list, from_array_c)
    np.testing.assert_array_equal(from_list, from_array_p)


@pytest.mark.parametrize("twin_index", [0, 1])
@pytest.mark.parametrize(
    "items",
    [np.zeros(3, dtype=np.int64), np.empty((2, 2), dtype=object), np.empty(6, dtype=object)[::2], ("a", "b"), "ab"],
)
def test_object_kernel_takes_lists_and_contiguous_object_arrays_only(compiled, twin_index, items):
    module = compiled["hashing"][twin_index]
    with pytest.raises(TypeError, match="items must be a list or a 1-d C-contiguous object array"):
        module.hash_objects(items, 0, 0, np.zeros(len(items), np.uint64))


def make_views(items, buffers=2):
    """Arrow-style 16-byte views for ``items``; long ones spread over ``buffers`` buffers."""
    import struct

    data = [bytearray() for _ in range(buffers)]
    views = bytearray()
    for i, item in enumerate(items):
        if len(item) <= 12:
            views += struct.pack("<i", len(item)) + item.ljust(12, b"\0")
        else:
            b = i % buffers
            views += struct.pack("<i4sii", len(item), item[:4], b, len(data[b]))
            data[b] += item
    as_array = lambda raw: np.frombuffer(bytes(raw), dtype=np.uint8)  # noqa: E731
    return as_array(views), [as_array(d) for d in data]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30), algorithm_and_seed())
def test_views_parity(compiled, items, spec):
    algo, dtype, seed = spec
    views, buffers = make_views(items)
    out_c, out_p = run_both(compiled, "hash_views", views, buffers, algo, seed, len(items), dtype=dtype)
    np.testing.assert_array_equal(out_c, out_p)
    expected = np.empty(len(items), dtype)
    compiled["hashing"][1].hash_objects(list(items), algo, seed, expected)
    np.testing.assert_array_equal(out_c, expected)


@pytest.mark.parametrize("twin_index", [0, 1])
@pytest.mark.parametrize(
    "index, offset, length",
    [(2, 0, 20), (0, 30, 20), (-1, 0, 20), (0, -5, 20), (0, 0, -1)],
)
def test_malformed_views_are_refused(compiled, twin_index, index, offset, length):
    import struct

    module = compiled["hashing"][twin_index]
    views, buffers = make_views([b"short", b"a long key of twenty"])
    raw = bytearray(views.tobytes())
    raw[16:32] = struct.pack("<i4sii", length, b"a lo", index, offset)
    with pytest.raises(ValueError, match="malformed Arrow view at position 1"):
        module.hash_views(np.frombuffer(bytes(raw), np.uint8), buffers, 0, 0, np.zeros(2, np.uint64))
    with pytest.raises(ValueError, match="16 bytes per key"):
        module.hash_views(np.zeros(15, np.uint8), buffers, 0, 0, np.zeros(0, np.uint64))
