"""Known-answer tests of the compiled hash core against the reference libraries.

``hash_bytes`` of ``fastring._hashing_c`` must equal python-xxhash, mmh3 and
hashlib for every algorithm, every length 0..600 (all XXH3 and MurmurHash3 code
paths, several XXH64 stripes, multi-block MD5) and several seeds; the array
kernels must give ``hash_bytes`` per element.
"""

import hashlib
import random

import pytest

np = pytest.importorskip("numpy")
xxhash = pytest.importorskip("xxhash")
mmh3 = pytest.importorskip("mmh3")
hc = pytest.importorskip("fastring._hashing_c")

from fastring._hashfuncs_py import ALGORITHM_TABLE

IDS = {name: algo for name, algo, _, _ in ALGORITHM_TABLE}
XXH64, XXH3_64, MURMUR3_32, MURMUR3_64 = IDS["xxh64"], IDS["xxh3_64"], IDS["murmur3_32"], IDS["murmur3_64"]
FNV1A_64, MD5_32 = IDS["fnv1a_64"], IDS["md5_32"]
ALGOS = [XXH64, XXH3_64, MURMUR3_32, MURMUR3_64, FNV1A_64, MD5_32]
IS_32 = {MURMUR3_32, MD5_32}
M64 = (1 << 64) - 1

_rng = random.Random(20240601)
DATA = [_rng.randbytes(n) for n in range(601)]
SEED64_RANDOM = _rng.getrandbits(64)


def _fnv1a_64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def reference(algo, data, seed):
    if algo == XXH64:
        return xxhash.xxh64_intdigest(data, seed)
    if algo == XXH3_64:
        return xxhash.xxh3_64_intdigest(data, seed)
    if algo == MURMUR3_32:
        return mmh3.hash(data, seed & 0xFFFFFFFF, signed=False)
    if algo == MURMUR3_64:
        return int.from_bytes(mmh3.hash_bytes(data, seed & 0xFFFFFFFF)[:8], "little")
    if algo == FNV1A_64:
        return _fnv1a_64(data)
    if algo == MD5_32:
        return int.from_bytes(hashlib.md5(data).digest()[:4], "little")
    raise AssertionError(algo)


def seeds_for(algo):
    if algo in (XXH64, XXH3_64):
        return [0, 1, 2**32 - 1, 2**64 - 1, SEED64_RANDOM]
    if algo in (MURMUR3_32, MURMUR3_64):
        return [0, 1, 2**32 - 1]
    return [0]  # FNV-1a and MD5 take no seed


def out_for(algo, n):
    return np.zeros(n, dtype=np.uint32 if algo in IS_32 else np.uint64)


# ---------------------------------------------------------------- hash_bytes


@pytest.mark.parametrize("algo", ALGOS)
def test_hash_bytes_every_length(algo):
    for seed in seeds_for(algo):
        for data in DATA:
            assert hc.hash_bytes(data, algo, seed) == reference(algo, data, seed), (
                algo,
                len(data),
                seed,
            )


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("n", [1023, 1024, 1025, 2048, 2049, 4097, 10_000])
def test_hash_bytes_long(algo, n):
    data = random.Random(n).randbytes(n)
    for seed in seeds_for(algo):
        assert hc.hash_bytes(data, algo, seed) == reference(algo, data, seed)


def test_murmur3_64_is_first_half_of_x64_128():
    for data in DATA[:64]:
        assert hc.hash_bytes(data, MURMUR3_64, 5) == mmh3.hash64(data, 5, signed=False)[0]


@pytest.mark.parametrize("algo", ALGOS)
def test_hash_bytes_text_and_buffers(algo):
    texts = ["", "a", "user:123456", "héllo wörld", "日本語のキー", "emoji 🎉🚀", "ß" * 100]
    for t in texts:
        data = t.encode("utf-8")
        expected = reference(algo, data, 0)
        assert hc.hash_bytes(data, algo, 0) == expected
        assert hc.hash_bytes(bytearray(data), algo, 0) == expected
        assert hc.hash_bytes(memoryview(data), algo, 0) == expected
        assert hc.hash_bytes(np.frombuffer(data, dtype=np.uint8), algo, 0) == expected


def test_hash_bytes_bad_algo():
    with pytest.raises(ValueError):
        hc.hash_bytes(b"x", len(hc.ALGORITHM_TABLE), 0)
    with pytest.raises(ValueError):
        hc.hash_bytes(b"x", -1, 0)


def test_md5_vectors():
    # RFC 1321, A.5 test suite, first four digest bytes little-endian.
    for msg in [b"", b"a", b"abc", b"message digest", b"a" * 55, b"a" * 56, b"a" * 64]:
        assert hc.hash_bytes(msg, MD5_32, 0) == int.from_bytes(
            hashlib.md5(msg).digest()[:4], "little"
        )


# ---------------------------------------------------------------- array kernels


def _per_element(algo, seed, keys):
    return np.array(
        [hc.hash_bytes(k, algo, seed) for k in keys],
        dtype=np.uint32 if algo in IS_32 else np.uint64,
    )


def _le8(v):
    return int(v).to_bytes(8, "little")


@pytest.mark.parametrize("algo", ALGOS)
def test_hash_uint64(algo):
    rng = np.random.default_rng(1)
    values = np.concatenate(
        [
            np.array([0, 1, 2**63 - 1, 2**63, 2**64 - 1], dtype=np.uint64),
            rng.integers(0, 2**64, size=500, dtype=np.uint64, endpoint=False),
        ]
    )
    for seed in seeds_for(algo):
        out = out_for(algo, len(values))
        hc.hash_uint64(values, algo, seed, out)
        expected = [reference(algo, _le8(v), seed) for v in values]
        assert out.tolist() == expected


def _packed(keys, dtype):
    offsets = np.zeros(len(keys) + 1, dtype=dtype)
    offsets[1:] = np.cumsum([len(k) for k in keys])
    data = np.frombuffer(b"".join(keys), dtype=np.uint8)
    return data, offsets


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("offset_dtype", [np.int32, np.int64])
def test_hash_packed(algo, offset_dtype):
    keys = DATA[:300] + [b"", b"user:1", "ключ".encode()] + DATA[500:]
    data, offsets = _packed(keys, offset_dtype)
    for seed in seeds_for(algo):
        out = out_for(algo, len(keys))
        hc.hash_packed(data, offsets, algo, seed, out)
        np.testing.assert_array_equal(out, _per_element(algo, seed, keys))


def test_hash_packed_empty_and_bad_offsets():
    out = np.zeros(0, dtype=np.uint64)
    hc.hash_packed(np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64), XXH64, 0, out)
    data = np.frombuffer(b"abcdef", dtype=np.uint8)
    for bad in ([0, 7], [-1, 3], [0, 4, 2]):
        out = np.zeros(len(bad) - 1, dtype=np.uint64)
        with pytest.raises(ValueError):
            hc.hash_packed(data, np.array(bad, dtype=np.int64), XXH64, 0, out)
    with pytest.raises(ValueError):
        hc.hash_packed(data, np.zeros(0, dtype=np.int64), XXH64, 0, np.zeros(0, np.uint64))
    with pytest.raises(ValueError):
        hc.hash_packed(data, np.array([0, 1], dtype=np.float64), XXH64, 0, np.zeros(1, np.uint64))


@pytest.mark.parametrize("algo", ALGOS)
def test_hash_fixed(algo):
    items = [b"", b"a", b"ab\x00c", b"user:123456", b"\x00\x00x", b"z" * 16, b"abc\x00"]
    arr = np.array(items, dtype="S16")
    data = np.frombuffer(arr.tobytes(), dtype=np.uint8)
    # NumPy's own rule: trailing NULs are dropped from each element.
    expected_keys = arr.tolist()
    assert expected_keys[2] == b"ab\x00c" and expected_keys[6] == b"abc"
    for seed in seeds_for(algo):
        out = out_for(algo, len(items))
        hc.hash_fixed(data, arr.itemsize, algo, seed, out)
        np.testing.assert_array_equal(out, _per_element(algo, seed, expected_keys))


def test_hash_fixed_bad_itemsize():
    data = np.zeros(10, dtype=np.uint8)
    with pytest.raises(ValueError):
        hc.hash_fixed(data, 0, XXH64, 0, np.zeros(0, np.uint64))
    with pytest.raises(ValueError):
        hc.hash_fixed(data, 3, XXH64, 0, np.zeros(3, np.uint64))


def _expected_object_bytes(obj):
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    return (int(obj) & M64).to_bytes(8, "little")


OBJECTS = [
    "",
    "user:123456",
    "héllo",
    "日本語",
    "🎉",
    b"",
    b"raw\x00bytes",
    0,
    1,
    -1,
    5,
    2**63 - 1,
    -(2**63),
    2**63,
    2**64 - 1,
    True,
    False,
    "x" * 300,
]


@pytest.mark.parametrize("algo", ALGOS)
def test_hash_objects(algo):
    for seed in seeds_for(algo):
        out = out_for(algo, len(OBJECTS))
        hc.hash_objects(OBJECTS, algo, seed, out)
        expected = [reference(algo, _expected_object_bytes(o), seed) for o in OBJECTS]
        assert out.tolist() == expected


def test_hash_objects_int_equals_uint64_kernel():
    values = np.array([0, 1, 5, 2**63, 2**64 - 1, 12345678901234567], dtype=np.uint64)
    ints = [int(v) for v in values]
    signed = [int(v) for v in values.view(np.int64)]
    for algo in ALGOS:
        a, b, c = out_for(algo, 6), out_for(algo, 6), out_for(algo, 6)
        hc.hash_uint64(values, algo, 7, a)
        hc.hash_objects(ints, algo, 7, b)
        hc.hash_objects(signed, algo, 7, c)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_hash_objects_fallback_types():
    # bytearray, memoryview and NumPy integers go through fastring._keys.key_bytes.
    items = [bytearray(b"abc"), memoryview(b"abc"), np.int8(5), np.uint64(2**64 - 1), "abc"]
    out = np.zeros(len(items), dtype=np.uint64)
    hc.hash_objects(items, XXH64, 0, out)
    abc = xxhash.xxh64_intdigest(b"abc")
    assert out.tolist() == [
        abc,
        abc,
        xxhash.xxh64_intdigest(_le8(5)),
        xxhash.xxh64_intdigest(_le8(2**64 - 1)),
        abc,
    ]


@pytest.mark.parametrize(
    "bad",
    [None, 1.5, float("nan"), 2**64, -(2**63) - 1, "lone \ud800 surrogate", object()],
)
def test_hash_objects_errors_stop_at_the_bad_key(bad):
    # The kernel writes as it reads: keys before the bad one are hashed, nothing
    # after it. (hash_keys keeps a caller's out untouched: see test_errors.py.)
    items = ["a", 1, b"b", bad, "c"]
    out = np.full(len(items), 7, dtype=np.uint64)
    with pytest.raises((TypeError, ValueError, OverflowError), match="position 3"):
        hc.hash_objects(items, XXH64, 0, out)
    assert out[3:].tolist() == [7, 7]


def test_hash_objects_empty():
    out = np.zeros(0, dtype=np.uint64)
    assert hc.hash_objects([], XXH64, 0, out) is None and out.shape == (0,)
    # An empty batch still checks its out: a wrong length is refused.
    with pytest.raises(ValueError, match="length"):
        hc.hash_objects([], XXH64, 0, np.zeros(1, dtype=np.uint64))


# ---------------------------------------------------------------- out checks


def _calls(algo, n_out):
    out = out_for(algo, n_out)
    values = np.arange(3, dtype=np.uint64)
    data, offsets = _packed([b"a", b"bc", b""], np.int64)
    fixed = np.frombuffer(np.array([b"a", b"b", b"c"], dtype="S2").tobytes(), dtype=np.uint8)
    return [
        lambda: hc.hash_uint64(values, algo, 0, out),
        lambda: hc.hash_packed(data, offsets, algo, 0, out),
        lambda: hc.hash_fixed(fixed, 2, algo, 0, out),
        lambda: hc.hash_objects(["a", "b", "c"], algo, 0, out),
    ]


@pytest.mark.parametrize("algo", ALGOS)
def test_out_length_mismatch(algo):
    for n_out in (2, 4):
        for call in _calls(algo, n_out):
            with pytest.raises(ValueError):
                call()


@pytest.mark.parametrize("algo", ALGOS)
def test_out_wrong_dtype_or_readonly(algo):
    values = np.arange(3, dtype=np.uint64)
    wrong = np.zeros(3, dtype=np.uint64 if algo in IS_32 else np.uint32)
    with pytest.raises(ValueError):
        hc.hash_uint64(values, algo, 0, wrong)
    with pytest.raises(ValueError):
        hc.hash_uint64(values, algo, 0, np.zeros(3, dtype=np.int64))
    ro = out_for(algo, 3)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        hc.hash_uint64(values, algo, 0, ro)
    with pytest.raises(ValueError):
        hc.hash_uint64(values, algo, 0, out_for(algo, 6)[::2])


def test_hash_objects_list_mutated_by_conversion():
    # Converting an int subclass calls its __int__, which can run any code; a
    # list that changes size under the kernel is an error.
    class Shrinking(int):
        def __int__(self):
            del items[-3:]
            return 5

    items = ["a", Shrinking(5), "b", "c", "d", "e"]
    out = np.full(len(items), 7, dtype=np.uint64)
    with pytest.raises(RuntimeError):
        hc.hash_objects(items, XXH64, 0, out)
    assert out[2:].tolist() == [7] * 4  # nothing past the key whose conversion failed
