"""Public hashing API, on both twins: known answers, containers, out=, seeds."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import SEEDS, reference

import fastring
from fastring import ALGORITHMS, hash_key, hash_keys

pytestmark = pytest.mark.usefixtures("twin")

RNG = random.Random(20261126)
# Every length from 0 to well past 240 bytes: XXH3 has separate paths for
# 0, 1-3, 4-8, 9-16, 17-128, 129-240 and longer inputs.
RANDOM_BYTES = [RNG.randbytes(n) for n in range(0, 300)] + [RNG.randbytes(n) for n in (511, 512, 1023, 1024, 1025, 4097)]
TEXT = ["", "a", "user:42", "é", "日本語のキー", "emoji 🔑🔑", "ß" * 100, "κλειδί" * 30]


def expected(keys, algorithm, seed=0):
    dtype = np.uint32 if algorithm in ("murmur3_32", "md5_32") else np.uint64
    return np.array([reference(k, algorithm, seed) for k in keys], dtype=dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_known_answers_every_length(algorithm):
    for seed in SEEDS[algorithm]:
        got = hash_keys(RANDOM_BYTES, algorithm, seed=seed)
        np.testing.assert_array_equal(got, expected(RANDOM_BYTES, algorithm, seed))
        for data in RANDOM_BYTES[:40:7]:
            assert hash_key(data, algorithm, seed=seed) == reference(data, algorithm, seed)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_known_answers_text(algorithm):
    encoded = [t.encode("utf-8") for t in TEXT]
    np.testing.assert_array_equal(hash_keys(TEXT, algorithm), expected(encoded, algorithm))
    for text, data in zip(TEXT, encoded):
        assert hash_key(text, algorithm) == reference(data, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_integer_keys_hash_as_8_little_endian_bytes(algorithm):
    values = [0, 1, 5, -1, -(2**63), 2**63 - 1, 2**63, 2**64 - 1, 123456789012345]
    as_bytes = [(v % 2**64).to_bytes(8, "little") for v in values]
    np.testing.assert_array_equal(hash_keys(values, algorithm), expected(as_bytes, algorithm))
    assert [hash_key(v, algorithm) for v in values] == expected(as_bytes, algorithm).tolist()


INTEGER_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", ">i4", ">u8", "<i2"]


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_same_number_same_hash_from_any_integer_dtype(dtype):
    info = np.iinfo(np.dtype(dtype))
    values = sorted({0, 1, 5, 100, int(info.max), int(info.min)})
    array = np.array(values, dtype=dtype)
    for algorithm in ALGORITHMS:
        np.testing.assert_array_equal(hash_keys(array, algorithm), hash_keys(values, algorithm))


def test_bool_keys_are_integers():
    np.testing.assert_array_equal(hash_keys(np.array([True, False])), hash_keys([1, 0]))
    assert hash_key(True) == hash_key(1)
    assert hash_key(np.bool_(False)) == hash_key(0)


def test_numpy_integer_scalars_are_keys():
    for scalar in (np.int8(-3), np.uint64(2**64 - 1), np.int32(7), np.uint16(9)):
        assert hash_key(scalar) == hash_key(int(scalar))
    mixed = [np.int8(-3), np.uint64(2**64 - 1), 7]
    np.testing.assert_array_equal(hash_keys(mixed), hash_keys([-3, 2**64 - 1, 7]))


def test_str_bytes_bytearray_memoryview_agree():
    data = "κλειδί:1".encode()
    for key in (data, bytearray(data), memoryview(data), "κλειδί:1"):
        assert hash_key(key) == reference(data, "xxh64")
    np.testing.assert_array_equal(
        hash_keys([data, bytearray(data), memoryview(data), "κλειδί:1"]), expected([data] * 4, "xxh64")
    )


def test_memoryview_of_typed_buffer_hashes_its_raw_bytes():
    array = np.array([1, 2], dtype="<u4")
    assert hash_key(memoryview(array)) == reference(array.tobytes(), "xxh64")


def test_subclasses_of_str_bytes_int_are_keys():
    class Name(str):
        pass

    class Raw(bytes):
        pass

    class Count(int):
        pass

    np.testing.assert_array_equal(hash_keys([Name("a"), Raw(b"b"), Count(3)]), hash_keys(["a", b"b", 3]))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_output_dtype(algorithm):
    width = 32 if algorithm in ("murmur3_32", "md5_32") else 64
    assert hash_keys(["a"], algorithm).dtype == np.dtype(f"uint{width}")
    assert hash_keys([], algorithm).dtype == np.dtype(f"uint{width}")
    assert hash_keys([], algorithm).shape == (0,)


@pytest.mark.parametrize("algorithm", ["xxh64", "murmur3_32"])
def test_out_is_filled_and_returned(algorithm):
    keys = ["a", "b", "c"]
    dtype = hash_keys(keys, algorithm).dtype
    out = np.zeros(3, dtype=dtype)
    result = hash_keys(keys, algorithm, out=out)
    assert result is out
    np.testing.assert_array_equal(out, hash_keys(keys, algorithm))
    # A contiguous slice of a larger array is a fine out.
    big = np.zeros(5, dtype=dtype)
    hash_keys(keys, algorithm, out=big[1:4])
    np.testing.assert_array_equal(big[1:4], out)
    assert big[0] == 0 and big[4] == 0


def test_implementation_is_reported():
    assert fastring.IMPLEMENTATION in ("cython", "python")


def test_all_algorithms_listed():
    assert ALGORITHMS == ("xxh64", "xxh3_64", "murmur3_32", "murmur3_64", "fnv1a_64", "md5_32")


def test_threads_give_the_same_hashes(monkeypatch):
    import pyarrow as pa

    from fastring import _threads

    monkeypatch.setattr(_threads, "MIN_KEYS_PER_THREAD", 100)
    n = 1_001  # enough keys for several threads, and an odd split
    ints = np.arange(n, dtype=np.int64) * 7919 - 10**6
    words = [f"user:{i}" for i in range(n)]
    long_words = [w * 3 for w in words]  # past 12 bytes: Arrow views point into data buffers
    containers = [
        ints,
        np.array(words, dtype="S"),
        pa.array(words),
        pa.chunked_array([words[:5], words[5:]]),
        pa.array(long_words, type=pa.string_view()),
        words,
    ]
    for container in containers:
        for algorithm in ("xxh64", "murmur3_32"):
            one = hash_keys(container, algorithm)
            np.testing.assert_array_equal(hash_keys(container, algorithm, threads=2), one)
            np.testing.assert_array_equal(hash_keys(container, algorithm, threads=5), one)
            out = np.zeros_like(one)
            assert hash_keys(container, algorithm, threads=3, out=out) is out
            np.testing.assert_array_equal(out, one)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", None, True])
def test_threads_must_be_a_positive_int(threads):
    with pytest.raises(ValueError, match="threads must be a positive int"):
        hash_keys(["a"], threads=threads)


# --------------------------------------------------------------------------- hash_key's fast path

ONE_KEYS = [
    "", "user:42", "é✓🎉", "x" * 1000, b"", b"\x00\xff", bytearray(b"ab"), memoryview(b"mv"),
    0, 1, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, True, False, np.int8(-5), np.uint64(2**64 - 1),
]
BAD_ONE_KEYS = [2**64, -(2**63) - 1, 1.5, None, [1], "\ud800", object()]
ONE_SEEDS = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, np.uint32(7), True, 1.0, "0"]


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:  # the same error type and message in both twins
        return (type(exc).__name__, str(exc))


def test_hash_key_twins_agree_on_every_path(compiled):
    fast, pure = (twin.hash_key for twin in compiled["hashing"])
    for algorithm in (*ALGORITHMS, "sha1", None, ["xxh64"], "kafka:murmur2"):
        for seed in ONE_SEEDS:
            for key in ONE_KEYS + BAD_ONE_KEYS:
                assert _outcome(fast, key, algorithm, seed=seed) == _outcome(pure, key, algorithm, seed=seed), (
                    key, algorithm, seed,
                )


@settings(max_examples=300, deadline=None)
@given(
    key=st.one_of(st.text(), st.binary(), st.integers(-(2**63), 2**64 - 1)),
    algorithm=st.sampled_from(ALGORITHMS),
    seed=st.integers(0, 2**32 - 1),
)
def test_hash_key_fast_path_equals_the_batch_kernels(compiled, key, algorithm, seed):
    fast, pure = (twin.hash_key for twin in compiled["hashing"])
    if algorithm in ("fnv1a_64", "md5_32"):
        seed = 0
    expected = int(hash_keys([key], algorithm, seed=seed)[0])
    assert fast(key, algorithm, seed=seed) == pure(key, algorithm, seed=seed) == expected


def test_public_hash_key_follows_use_twin(compiled, monkeypatch):
    from fastring import _hashing_c, _hashing_py
    from fastring._implementation import use_twin

    calls = []
    real = _hashing_py.hash_key
    monkeypatch.setattr(_hashing_py, "hash_key", lambda *a, **k: calls.append(a) or real(*a, **k))
    with use_twin("python"):
        value = fastring.hash_key("k")
    assert calls == [("k", "xxh64")] and value == _hashing_c.hash_key("k")
    fastring.hash_key("k")  # back on the live twin: no delegation left behind
    assert len(calls) == 1 or fastring.IMPLEMENTATION == "python"


def test_out_is_written_in_place_for_keys_that_cannot_fail(twin):
    import tracemalloc

    import pyarrow as pa

    words = pa.array([f"user:{i}" for i in range(200_000)])
    records = np.array([f"user:{i}".encode() for i in range(200_000)])
    for keys in (words, records, np.arange(200_000)):
        out = np.zeros(len(keys), dtype=np.uint64)
        hash_keys(keys[:10], out=out[:10])
        tracemalloc.start()
        try:
            hash_keys(keys, out=out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        if twin == "cython":  # (the pure twin's kernels build Python lists as they go)
            assert peak < out.nbytes / 4, (type(keys), peak)  # no scratch of the output's size
        np.testing.assert_array_equal(out, hash_keys(keys))


def test_packed_keys_with_bad_spans_are_not_written_in_place():
    from fastring._batches import PackedKeys
    from fastring.hashing import HASH_CHUNK, _cannot_fail

    data = np.frombuffer(b"abcdef", dtype=np.uint8)
    assert _cannot_fail(PackedKeys(data, np.array([0, 2, 6], dtype=np.int32)))
    for offsets in ([0, 3, 2], [-1, 2], [0, 7], []):
        assert not _cannot_fail(PackedKeys(data, np.array(offsets, dtype=np.int64)))
    late = np.zeros(3 * HASH_CHUNK, dtype=np.int64)
    late[-2] = 1  # non-decreasing until the last step, in the last chunk
    assert not _cannot_fail(PackedKeys(data, late))
