"""Known-answer tests of the pure-Python hashing twin against the reference packages.

These import ``fastring._hashfuncs_py`` and ``fastring._hashing_py`` directly: the pure twin must be right on its
own, whatever the selector picks. Every scalar algorithm is checked for every input
length 0..600 (so every XXH3 path, including the seeded custom secret of inputs over
240 bytes, and XXH64 inputs with and without full stripes), and every array kernel
against the scalar ``hash_bytes`` of each element.
"""

import hashlib
import random

import mmh3
import numpy as np
import pytest
import xxhash

from fastring import _hashfuncs_py as hf
from fastring import _hashing_py as hp

M64 = 2**64 - 1
_RNG = random.Random(20240607)
DATA = [_RNG.randbytes(n) for n in range(601)]
RANDOM_SEED64 = _RNG.getrandbits(64)

SEEDS32 = (0, 1, 2**32 - 1)
SEEDS64 = SEEDS32 + (2**63, M64, RANDOM_SEED64)

TEXTS = ["", "a", "user:123456", "héllo wörld", "日本語のキー", "🙂 emoji key", "Ωmega" * 50]


def _fnv1a_64_reference(data):
    # FNV-1a as specified by Fowler/Noll/Vo, written out independently of the twin.
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) % 2**64
    return h


REFERENCES = {
    hf.XXH64: xxhash.xxh64_intdigest,
    hf.XXH3_64: xxhash.xxh3_64_intdigest,
    hf.MURMUR3_32: lambda data, seed: mmh3.hash(data, seed, signed=False),
    hf.MURMUR3_64: lambda data, seed: int.from_bytes(mmh3.hash_bytes(data, seed)[:8], "little"),
    hf.FNV1A_64: lambda data, seed: _fnv1a_64_reference(data),
    hf.MD5_32: lambda data, seed: int.from_bytes(hashlib.md5(data).digest()[:4], "little"),
}
SCALARS = {
    hf.XXH64: hf.xxh64,
    hf.XXH3_64: hf.xxh3_64,
    hf.MURMUR3_32: hf.murmur3_32,
    hf.MURMUR3_64: hf.murmur3_64,
    hf.FNV1A_64: lambda data, seed: hf.fnv1a_64(data),
    hf.MD5_32: lambda data, seed: hf.md5_32(data),
}
SEEDS = {
    hf.XXH64: SEEDS64,
    hf.XXH3_64: SEEDS64,
    hf.MURMUR3_32: SEEDS32,
    hf.MURMUR3_64: SEEDS32,
    hf.FNV1A_64: (0,),
    hf.MD5_32: (0,),
}
ALGOS = sorted(REFERENCES)
NAMES = {
    hf.XXH64: "xxh64",
    hf.XXH3_64: "xxh3_64",
    hf.MURMUR3_32: "murmur3_32",
    hf.MURMUR3_64: "murmur3_64",
    hf.FNV1A_64: "fnv1a_64",
    hf.MD5_32: "md5_32",
}
OUT_DTYPE = {a: np.uint32 if a in (hf.MURMUR3_32, hf.MD5_32) else np.uint64 for a in ALGOS}

algos = pytest.mark.parametrize("algo", ALGOS, ids=NAMES.get)


def test_algorithm_ids():
    assert (hf.XXH64, hf.XXH3_64, hf.MURMUR3_32, hf.MURMUR3_64, hf.FNV1A_64, hf.MD5_32) == (
        0, 1, 2, 3, 4, 5,
    )


def test_fnv1a_64_published_vectors():
    # From the FNV reference test suite (fnv/test_fnv.c): FNV-1a 64 of "", "a", "foobar".
    assert hf.fnv1a_64(b"") == 0xCBF29CE484222325
    assert hf.fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert hf.fnv1a_64(b"foobar") == 0x85944171F73967E8


@algos
def test_scalar_every_length(algo):
    scalar, reference = SCALARS[algo], REFERENCES[algo]
    for seed in SEEDS[algo]:
        bad = [len(d) for d in DATA if scalar(d, seed) != reference(d, seed)]
        assert not bad, f"seed {seed}: lengths {bad[:10]} differ"


@algos
def test_hash_bytes_every_length(algo):
    reference = REFERENCES[algo]
    for seed in SEEDS[algo]:
        bad = [len(d) for d in DATA if hp.hash_bytes(d, algo, seed) != reference(d, seed)]
        assert not bad, f"seed {seed}: lengths {bad[:10]} differ"


@algos
def test_text(algo):
    reference = REFERENCES[algo]
    for text in TEXTS:
        data = text.encode("utf-8")
        for seed in SEEDS[algo]:
            assert hp.hash_bytes(data, algo, seed) == reference(data, seed), (text, seed)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 2048, 5000])
def test_xxh_long_and_boundaries(n):
    # Block boundaries of XXH3 (1024 bytes with the default secret) and XXH64 stripes.
    data = bytes((i * 131 + 7) & 0xFF for i in range(n))
    for seed in SEEDS64:
        assert hf.xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed)
        assert hf.xxh3_64(data, seed) == xxhash.xxh3_64_intdigest(data, seed)


@algos
def test_hash_bytes_accepts_bytes_like(algo):
    data = DATA[37]
    expected = hp.hash_bytes(data, algo, 1)
    assert hp.hash_bytes(bytearray(data), algo, 1) == expected
    assert hp.hash_bytes(memoryview(data), algo, 1) == expected
    assert hp.hash_bytes(np.frombuffer(data, np.uint8), algo, 1) == expected


def test_hash_bytes_rejects_bad_algo_and_seed():
    with pytest.raises(ValueError):
        hp.hash_bytes(b"x", len(hp.ALGORITHM_TABLE), 0)
    with pytest.raises(ValueError):
        hp.hash_bytes(b"x", -1, 0)
    with pytest.raises(OverflowError):
        hp.hash_bytes(b"x", hf.XXH64, -1)
    with pytest.raises(OverflowError):
        hp.hash_bytes(b"x", hf.XXH64, 2**64)


# ------------------------------------------------------------------ array kernels


def _expected(chunks, algo, seed):
    return [hp.hash_bytes(c, algo, seed) for c in chunks]


UINT64_VALUES = np.concatenate(
    [
        np.array([0, 1, 2, 255, 256, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1], dtype=np.uint64),
        np.random.default_rng(7).integers(0, 2**64, size=3000, dtype=np.uint64),
    ]
)


@algos
def test_hash_uint64_vectorized(algo):
    chunks = [int(v).to_bytes(8, "little") for v in UINT64_VALUES]
    for seed in SEEDS[algo]:
        out = np.zeros(len(UINT64_VALUES), OUT_DTYPE[algo])
        assert hp.hash_uint64(UINT64_VALUES, algo, seed, out) is None
        assert out.tolist() == _expected(chunks, algo, seed), seed


@algos
def test_hash_uint64_across_chunks(algo):
    # Longer than two vectorized passes, from a strided (non-contiguous) view.
    base = np.random.default_rng(8).integers(0, 2**64, size=2 * (2 * hp._CHUNK + 3), dtype=np.uint64)
    values = base[::2]
    out = np.zeros(len(values), OUT_DTYPE[algo])
    hp.hash_uint64(values, algo, 1, out)
    chunks = [int(v).to_bytes(8, "little") for v in values]
    assert out.tolist() == _expected(chunks, algo, 1)


@algos
def test_hash_uint64_empty_and_bad_out(algo):
    hp.hash_uint64(np.zeros(0, np.uint64), algo, 0, np.zeros(0, OUT_DTYPE[algo]))
    with pytest.raises(ValueError):
        hp.hash_uint64(np.zeros(3, np.uint64), algo, 0, np.zeros(2, OUT_DTYPE[algo]))
    wrong = np.uint32 if OUT_DTYPE[algo] is np.uint64 else np.uint64
    with pytest.raises(ValueError):
        hp.hash_uint64(np.zeros(3, np.uint64), algo, 0, np.zeros(3, wrong))
    with pytest.raises(ValueError):  # not C-contiguous
        hp.hash_uint64(np.zeros(3, np.uint64), algo, 0, np.zeros(6, OUT_DTYPE[algo])[::2])
    with pytest.raises(ValueError):
        hp.hash_uint64(np.zeros(3, np.int64), algo, 0, np.zeros(3, OUT_DTYPE[algo]))


def _packed(chunks, offset_dtype):
    data = np.frombuffer(b"".join(chunks), np.uint8)
    offsets = np.zeros(len(chunks) + 1, offset_dtype)
    np.cumsum([len(c) for c in chunks], out=offsets[1:])
    return data, offsets


PACKED_CHUNKS = DATA[:300:7] + [b"", b"", "日本".encode(), b"\x00a\x00", DATA[599], b""]


@algos
@pytest.mark.parametrize("offset_dtype", [np.int32, np.int64])
def test_hash_packed(algo, offset_dtype):
    data, offsets = _packed(PACKED_CHUNKS, offset_dtype)
    for seed in SEEDS[algo]:
        out = np.zeros(len(PACKED_CHUNKS), OUT_DTYPE[algo])
        hp.hash_packed(data, offsets, algo, seed, out)
        assert out.tolist() == _expected(PACKED_CHUNKS, algo, seed), seed


@pytest.mark.parametrize("offset_dtype", [np.int32, np.int64])
def test_hash_packed_errors(offset_dtype):
    data, offsets = _packed([b"ab", b"cde"], offset_dtype)
    out = np.zeros(2, np.uint64)
    with pytest.raises(ValueError):
        hp.hash_packed(data, offsets, hf.XXH64, 0, np.zeros(3, np.uint64))
    for bad in ([0, 3, 2], [0, 2, 6], [-1, 2, 5]):
        with pytest.raises(ValueError):
            hp.hash_packed(data, np.array(bad, offset_dtype), hf.XXH64, 0, out)
    with pytest.raises(ValueError):
        hp.hash_packed(data, np.zeros(0, offset_dtype), hf.XXH64, 0, np.zeros(0, np.uint64))
    hp.hash_packed(data, np.zeros(1, offset_dtype), hf.XXH64, 0, np.zeros(0, np.uint64))


FIXED = np.array([b"", b"a", b"abc", b"ab\x00c", b"\x00\x00x", b"abcdefgh", b"\x00"], dtype="S8")


@algos
def test_hash_fixed(algo):
    # NumPy's rule: trailing NULs are dropped, embedded and leading ones kept.
    expected_chunks = FIXED.tolist()
    assert expected_chunks[3] == b"ab\x00c" and expected_chunks[6] == b""
    data = np.frombuffer(FIXED.tobytes(), np.uint8)
    for seed in SEEDS[algo]:
        out = np.zeros(len(FIXED), OUT_DTYPE[algo])
        hp.hash_fixed(data, FIXED.itemsize, algo, seed, out)
        assert out.tolist() == _expected(expected_chunks, algo, seed), seed


def test_hash_fixed_errors():
    data = np.frombuffer(FIXED.tobytes(), np.uint8)
    with pytest.raises(ValueError):
        hp.hash_fixed(data, 8, hf.XXH64, 0, np.zeros(len(FIXED) + 1, np.uint64))
    with pytest.raises(ValueError):
        hp.hash_fixed(data, 0, hf.XXH64, 0, np.zeros(0, np.uint64))
    with pytest.raises(ValueError):
        hp.hash_fixed(data[:-1], 8, hf.XXH64, 0, np.zeros(len(FIXED) - 1, np.uint64))


OBJECTS = [
    "user:1", "héllo", "", b"", b"raw\x00bytes", 0, 1, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1,
    True, False, bytearray(b"ba"), memoryview(b"mv"), np.int8(-5), np.uint64(2**64 - 1),
]


def _object_bytes(obj):
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    return (int(obj) % 2**64).to_bytes(8, "little")


@algos
def test_hash_objects(algo):
    chunks = [_object_bytes(o) for o in OBJECTS]
    for seed in SEEDS[algo]:
        out = np.zeros(len(OBJECTS), OUT_DTYPE[algo])
        hp.hash_objects(list(OBJECTS), algo, seed, out)
        assert out.tolist() == _expected(chunks, algo, seed), seed


@pytest.mark.parametrize(
    "bad, error",
    [("\ud800", ValueError), (1.5, TypeError), (None, TypeError), (2**64, OverflowError),
     (-(2**63) - 1, OverflowError)],
)
def test_hash_objects_error_leaves_out_untouched(bad, error):
    out = np.full(3, 7, np.uint64)
    with pytest.raises(error, match="position 2"):
        hp.hash_objects(["a", 1, bad], hf.XXH64, 0, out)
    assert out.tolist() == [7, 7, 7]


def test_hash_objects_bad_out():
    with pytest.raises(ValueError):
        hp.hash_objects(["a"], hf.XXH64, 0, np.zeros(2, np.uint64))
    with pytest.raises(ValueError):
        hp.hash_objects(["a"], hf.MURMUR3_32, 0, np.zeros(1, np.uint64))
