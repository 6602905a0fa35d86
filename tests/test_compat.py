"""fastring.compat: every function against its system's reference, in both twins.

Known answers come from the reference clients installed as test dependencies
(kafka-python, confluent-kafka, redis-py, cassandra-driver, pyiceberg, pandas), a
real Dask shuffle on worker processes, and the vectors Spark's documentation and
Elasticsearch's test suite publish; each system's hash is also checked against an
independent transliteration of its Java source written here.
"""

import struct
import uuid
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import compat
from fastring._implementation import use_twin

KEYS = [f"user:{i}" for i in range(300)] + ["", "é", "日本語", "😀x", "a" * 17, "\x00\x7f"]
# Every tail length 0..16 for each 4/8/16-byte block size, with bytes >= 0x80.
TAILS = [bytes((0x80 + 37 * j + n) % 256 for j in range(n)) for n in range(33)]
INT32_EDGES = [0, 1, -1, 2**31 - 1, -(2**31), 123456]
INT64_EDGES = [0, 1, -1, 2**63 - 1, -(2**63), 2**31, -(2**31) - 1]


def kafka_python_murmur2():
    # kafka-python 3 reads its protocol schemas with a deprecated importlib call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kafka.partitioner.default import murmur2
    return murmur2


def s32(x):
    x &= 0xFFFFFFFF
    return x - 2**32 if x >= 2**31 else x


def s64(x):
    x &= 2**64 - 1
    return x - 2**64 if x >= 2**63 else x


# -- independent transliterations of the systems' Java sources -----------------------


def java_spark_hash_bytes(data, seed):
    """Spark Murmur3_x86_32.hashUnsafeBytes, line by line."""

    def mix_k1(k):
        k = (k * 0xCC9E2D51) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        return (k * 0x1B873593) & 0xFFFFFFFF

    def mix_h1(h, k):
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        return (h * 5 + 0xE6546B64) & 0xFFFFFFFF

    h = seed & 0xFFFFFFFF
    aligned = len(data) - len(data) % 4
    for i in range(0, aligned, 4):
        h = mix_h1(h, mix_k1(int.from_bytes(data[i : i + 4], "little")))
    for i in range(aligned, len(data)):
        half_word = data[i] - 256 if data[i] >= 128 else data[i]  # Platform.getByte: signed
        h = mix_h1(h, mix_k1(half_word & 0xFFFFFFFF))
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return s32(h ^ (h >> 16))


def es_hash(routing):
    """Elasticsearch Murmur3HashFunction.hash(String): murmur3 over UTF-16LE units."""
    import mmh3

    return mmh3.hash(routing.encode("utf-16-le", "surrogatepass"), 0)


# -- Kafka -----------------------------------------------------------------------------


def test_kafka_matches_kafka_python_and_confluent(twin):
    from confluent_kafka import murmur2 as confluent_partition

    murmur2 = kafka_python_murmur2()

    assert compat.kafka_murmur2(KEYS).tolist() == [s32(murmur2(k.encode())) for k in KEYS]
    assert compat.kafka_murmur2(TAILS, key_type="bytes").tolist() == [s32(murmur2(b)) for b in TAILS]
    for n in (1, 7, 12, 1000):
        expected = [confluent_partition(k.encode(), n) for k in KEYS]
        assert compat.kafka_partition(KEYS, n).tolist() == expected
        assert compat.kafka_partition([k.encode() for k in KEYS], n).tolist() == expected
    assert compat.kafka_partition(KEYS, 12).dtype == np.int32


def test_kafka_integer_serializers(twin):
    murmur2 = kafka_python_murmur2()

    expected_int = [s32(murmur2(struct.pack(">i", v))) for v in INT32_EDGES]
    expected_long = [s32(murmur2(struct.pack(">q", v))) for v in INT64_EDGES]
    assert compat.kafka_murmur2(INT32_EDGES, key_type="int").tolist() == expected_int
    assert compat.kafka_murmur2(INT64_EDGES, key_type="long").tolist() == expected_long
    # Inferred from the array's width: int32-and-narrower -> int, 64-bit -> long.
    assert compat.kafka_murmur2(np.array(INT32_EDGES, np.int32)).tolist() == expected_int
    assert compat.kafka_murmur2(np.array(INT64_EDGES, np.int64)).tolist() == expected_long
    assert compat.kafka_murmur2(pa.array(INT32_EDGES, pa.int32())).tolist() == expected_int
    assert compat.kafka_murmur2(pd.Series(INT32_EDGES, dtype="Int32")).tolist() == expected_int
    small = np.array([-3, 0, 5], np.int8)
    assert compat.kafka_murmur2(small).tolist() == compat.kafka_murmur2([-3, 0, 5], key_type="int").tolist()


# -- Redis -----------------------------------------------------------------------------


def test_redis_slot_matches_redis_py_and_hash_tags(twin):
    from redis.crc import key_slot

    assert compat.redis_slot(KEYS).tolist() == [key_slot(k.encode()) for k in KEYS]
    assert compat.redis_slot(TAILS).tolist() == [key_slot(b) for b in TAILS]
    # Redis Cluster specification: the hash tag rules.
    tagged = ["{user1000}.following", "{user1000}.followers", "foo{}{bar}", "{}", "foo{{bar}}zap", "foo{bar}{zap}"]
    got = compat.redis_slot(tagged).tolist()
    assert got == [key_slot(k.encode()) for k in tagged]
    assert got[0] == got[1] == compat.redis_slot(["user1000"])[0]
    assert got[2] == compat.redis_slot(["foo{}{bar}"])[0] != compat.redis_slot(["bar"])[0]  # empty tag: whole key
    assert got[4] == compat.redis_slot(["{bar"])[0]  # the tag is "{bar"
    assert got[5] == compat.redis_slot(["bar"])[0]  # the first tag only
    assert compat.redis_slot(["123456789"]).tolist() == [0x31C3 & 0x3FFF]  # CRC16-XMODEM check value


def test_redis_slot_against_a_real_server(redis_server):
    import redis

    client = redis.Redis(port=redis_server)
    sample = KEYS[:40] + ["{user1000}.following", "foo{}{bar}", "foo{{bar}}zap"]
    expected = [client.execute_command("CLUSTER KEYSLOT", k) for k in sample]
    assert compat.redis_slot(sample).tolist() == expected


# -- Cassandra -------------------------------------------------------------------------


def test_cassandra_token_matches_the_driver(twin):
    from cassandra.murmur3 import murmur3

    texts = [k for k in KEYS if k]  # the driver's empty-key token is 0, Cassandra's MIN
    assert compat.cassandra_token(texts).tolist() == [murmur3(k.encode()) for k in texts]
    assert compat.cassandra_token(TAILS[1:], key_type="blob").tolist() == [murmur3(b) for b in TAILS[1:]]
    assert compat.cassandra_token([""]).tolist() == [-(2**63)]
    assert compat.cassandra_token(INT32_EDGES, key_type="int").tolist() == [
        murmur3(struct.pack(">i", v)) for v in INT32_EDGES
    ]
    assert compat.cassandra_token(np.array(INT64_EDGES)).tolist() == [
        murmur3(struct.pack(">q", v)) for v in INT64_EDGES
    ]


def test_cassandra_tail_bytes_are_sign_extended(twin):
    import mmh3

    # Standard murmur3 and Cassandra agree without high tail bytes, differ with them.
    low = b"abc"
    assert compat.cassandra_token([low])[0] == s64(mmh3.hash64(low, 0, signed=False)[0])
    high = b"ab\x80"
    assert compat.cassandra_token([high])[0] != s64(mmh3.hash64(high, 0, signed=False)[0])


# -- Spark -----------------------------------------------------------------------------


def test_spark_hash_documented_vectors(twin):
    # Spark SQL reference: SELECT hash('Spark', array(123), 2) -> -1321691492,
    # SELECT xxhash64('Spark', array(123), 2) -> 5602566077635097486. Columns (and array
    # elements) fold left, each hashed with the previous hash as its seed.
    h = int(compat.spark_hash(["Spark"])[0])
    h = int(compat.spark_hash([123], key_type="int", seed=h)[0])
    assert compat.spark_hash([2], key_type="int", seed=h).tolist() == [-1321691492]
    x = int(compat.spark_xxhash64(["Spark"])[0])
    x = int(compat.spark_xxhash64([123], key_type="int", seed=x)[0])
    assert compat.spark_xxhash64([2], key_type="int", seed=x).tolist() == [5602566077635097486]


def test_spark_hash_unsafe_bytes_tails(twin):
    expected = [java_spark_hash_bytes(b, 42) for b in TAILS]
    assert compat.spark_hash(TAILS, key_type="binary").tolist() == expected
    assert compat.spark_hash(KEYS).tolist() == [java_spark_hash_bytes(k.encode(), 42) for k in KEYS]


def test_spark_integers_nulls_and_partition(twin):
    import mmh3
    import xxhash

    assert compat.spark_hash(INT32_EDGES, key_type="int").tolist() == [
        mmh3.hash(struct.pack("<i", v), 42) for v in INT32_EDGES
    ]
    assert compat.spark_hash(INT64_EDGES, key_type="bigint").tolist() == [
        mmh3.hash(struct.pack("<q", v), 42) for v in INT64_EDGES
    ]
    assert compat.spark_xxhash64(np.array(INT64_EDGES)).tolist() == [
        s64(xxhash.xxh64_intdigest(struct.pack("<q", v), 42)) for v in INT64_EDGES
    ]
    assert compat.spark_hash(["a", None, "b"]).tolist()[1] == 42  # a null is the seed
    assert compat.spark_xxhash64([None], seed=-7).tolist() == [-7]
    h = compat.spark_hash(KEYS).astype(np.int64)
    assert compat.spark_partition(KEYS, 200).tolist() == [((v % 200) + 200) % 200 for v in h.tolist()]
    assert compat.spark_partition(["x", None], 7).tolist()[1] == 42 % 7


@pytest.mark.parametrize(
    "make",
    [
        lambda v: v,
        lambda v: np.array(v, dtype=object),
        lambda v: pd.Series(v, dtype="str"),
        lambda v: pa.array(v),
        lambda v: pa.chunked_array([v[:1], v[1:]]),
        lambda v: __import__("polars").Series(v),
    ],
    ids=["list", "object-array", "pandas-str", "arrow", "arrow-chunked", "polars"],
)
def test_spark_nulls_hash_as_the_seed_in_every_container(twin, make):
    values = ["Spark", None, "x", None]
    expected = [int(compat.spark_hash(["Spark"])[0]), 42, int(compat.spark_hash(["x"])[0]), 42]
    assert compat.spark_hash(make(values)).tolist() == expected
    assert compat.spark_hash(make(values), seed=7).tolist()[1] == 7
    assert compat.spark_partition(make(values), 10).tolist()[1::2] == [2, 2]


# -- Iceberg ---------------------------------------------------------------------------


def test_iceberg_bucket_matches_pyiceberg(twin):
    from pyiceberg.transforms import BucketTransform
    from pyiceberg.types import BinaryType, IntegerType, LongType, StringType, UUIDType

    def reference(iceberg_type, values, n):
        fn = BucketTransform(n).transform(iceberg_type)
        return [fn(v) for v in values]

    for n in (1, 16, 100, 2**31 - 1):
        assert compat.iceberg_bucket(KEYS, n).tolist() == reference(StringType(), KEYS, n)
        assert compat.iceberg_bucket(TAILS, n).tolist() == reference(BinaryType(), TAILS, n)
        assert compat.iceberg_bucket(INT32_EDGES, n, key_type="int").tolist() == reference(
            IntegerType(), INT32_EDGES, n
        )
        assert compat.iceberg_bucket(INT64_EDGES, n).tolist() == reference(LongType(), INT64_EDGES, n)
    uuids = [uuid.UUID(int=i * 0x9E3779B97F4A7C15) for i in range(50)]
    assert compat.iceberg_bucket(uuids, 16).tolist() == reference(UUIDType(), uuids, 16)
    assert compat.iceberg_bucket([u.bytes for u in uuids], 16, key_type="uuid").tolist() == reference(
        UUIDType(), uuids, 16
    )
    # The specification's own examples: 34 -> 2017239379, "iceberg" -> 1210000089.
    assert compat.iceberg_bucket([34], 2**31 - 1, key_type="int").tolist() == [2017239379]
    assert compat.iceberg_bucket(["iceberg"], 2**31 - 1).tolist() == [1210000089]


# -- Elasticsearch ---------------------------------------------------------------------


def test_elasticsearch_hash_vectors_and_surrogates(twin):
    # Murmur3HashFunctionTests.testKnownValues in Elasticsearch.
    known = {
        "hell": 0x5A0CB7C3,
        "hello": 0xD7C31989,
        "hello w": 0x22AB2984,
        "hello wo": 0xDF0CA123,
        "hello wor": 0xE7744D61,
        "The quick brown fox jumps over the lazy dog": 0xE07DB09C,
        "The quick brown fox jumps over the lazy cog": 0x4E63D2AD,
    }
    names = list(known)
    rns = 2**31 - 1  # floorMod by a huge routing count with one shard factor leaves the hash
    got = compat.elasticsearch_shard(names, 1, routing_num_shards=1).tolist()
    assert got == [0] * len(names)
    for name, h in known.items():
        assert es_hash(name) == s32(h)
    # Through the API: floorMod(hash, rns) // (rns // n), against the reference hash.
    texts = names + KEYS + ["😀", "a😀b", "\U0010ffff", "Ω≈ç√"]
    for n, r in [(5, None), (1, None), (3, 96), (2, rns - 1)]:
        rr = compat.default_routing_num_shards(n) if r is None else r
        expected = [(es_hash(t) % rr) // (rr // n) for t in texts]
        assert compat.elasticsearch_shard(texts, n, routing_num_shards=r).tolist() == expected


def test_elasticsearch_default_routing_shards():
    # Elasticsearch documentation: 5 shards -> 640 routing shards; 1 -> 1024; 30 -> 960.
    assert [compat.default_routing_num_shards(n) for n in (1, 2, 5, 30, 1024, 2000)] == [
        1024,
        1024,
        640,
        960,
        2048,
        4000,
    ]


# -- pandas and Dask -------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        np.arange(-5, 5),
        np.arange(-5, 5, dtype=np.int32),
        np.array([-1, 0, 1], dtype=np.int8),
        np.arange(10, dtype=np.uint64) * (2**60),
        np.array([True, False]),
        np.array([0.0, -0.0, np.nan, 1.5, np.inf]),
    ],
    ids=lambda v: str(v.dtype),
)
def test_pandas_hash_numeric(twin, values):
    assert compat.pandas_hash(values).tolist() == pd.util.hash_array(values).tolist()


def test_pandas_hash_strings(twin):
    expected = pd.util.hash_array(np.array(KEYS, dtype=object), categorize=False).tolist()
    assert compat.pandas_hash(KEYS).tolist() == expected
    assert compat.pandas_hash(pd.Series(KEYS)).tolist() == expected
    assert compat.pandas_hash(pa.array(KEYS)).tolist() == expected
    raw = [b"\xff\x00", b""]
    assert compat.pandas_hash(raw).tolist() == pd.util.hash_array(np.array(raw, dtype=object)).tolist()


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", None, "b", float("nan")], dtype=object),
        pd.Series(["a", None, "b"], dtype="str"),
        pd.Series(["a", pd.NA, "b"], dtype="string"),
    ],
    ids=["object", "str", "string"],
)
def test_pandas_hash_nulls(twin, column):
    # hash_pandas_object (categorize=True) maps a null to 2**64 - 1; so does hash_array.
    assert compat.pandas_hash(column).tolist() == pd.util.hash_pandas_object(column, index=False).tolist()
    values = np.array(column.tolist(), dtype=object)
    assert compat.pandas_hash(values).tolist() == pd.util.hash_array(values).tolist()


def _dask_partitions(column, npartitions):
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"k": column, "row": np.arange(len(column))})
    shuffled = dd.from_pandas(frame, npartitions=3).shuffle(on="k", npartitions=npartitions)
    with dask.config.set(scheduler="processes", num_workers=2):
        parts = dask.compute(*shuffled.to_delayed())
    where = np.empty(len(column), dtype=np.int64)
    for p, part in enumerate(parts):
        where[part["row"].to_numpy()] = p
    return where.tolist()


@pytest.mark.parametrize(
    "column",
    [
        [f"user:{i}" for i in range(400)],
        np.arange(-200, 200, dtype=np.int64),
        np.arange(400, dtype=np.int32) * 7,
        np.linspace(-3, 3, 400),
        [None if i % 7 == 0 else f"k{i}" for i in range(300)],
    ],
    ids=["str", "int64", "int32", "float64", "str-with-nulls"],
)
def test_dask_partition_matches_a_real_shuffle(column):
    # Worker processes: the shuffle runs in other interpreters, as on a cluster.
    assert compat.dask_partition(column, 7).tolist() == _dask_partitions(column, 7)


# -- both twins, any input -------------------------------------------------------------

texts = st.lists(st.text(max_size=40), max_size=30)
blobs = st.lists(st.binary(max_size=40), max_size=30)


@settings(max_examples=60, deadline=None)
@given(keys=texts, raw=blobs, n=st.integers(1, 2**31 - 1))
def test_twins_agree(keys, raw, n):
    results = []
    for name in ("cython", "python"):
        with use_twin(name):
            results.append(
                [
                    compat.kafka_partition(keys, n).tolist(),
                    compat.kafka_murmur2(raw, key_type="bytes").tolist(),
                    compat.redis_slot(raw).tolist(),
                    compat.cassandra_token(raw, key_type="blob").tolist(),
                    compat.spark_hash(raw, key_type="binary").tolist(),
                    compat.spark_partition(keys, n).tolist(),
                    compat.iceberg_bucket(keys, n).tolist(),
                    compat.elasticsearch_shard(keys, 1 + n % 1024).tolist(),
                    compat.pandas_hash(keys).tolist(),
                ]
            )
    assert results[0] == results[1]
    assert results[0][4] == [java_spark_hash_bytes(b, 42) for b in raw]
    assert results[0][7] == [
        (es_hash(k) % compat.default_routing_num_shards(1 + n % 1024))
        // (compat.default_routing_num_shards(1 + n % 1024) // (1 + n % 1024))
        for k in keys
    ]


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=64))
def test_es_hash_of_ill_formed_utf8_agrees_in_both_twins(compiled, data):
    # Only a malformed Arrow string column can carry bytes that are not UTF-8: both
    # twins decode them with U+FFFD replacements, as Python does.
    c, p = compiled["hashing"]
    algo = [a for name, a, _, _ in c.ALGORITHM_TABLE if name == "elasticsearch:murmur3_utf16"][0]
    assert c.hash_bytes(data, algo, 0) == p.hash_bytes(data, algo, 0)


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: compat.kafka_partition(["a", 1.5], 3), TypeError, "position 1 has type float"),
        (lambda: compat.kafka_partition(["a", None], 3), TypeError, "position 1"),
        (lambda: compat.kafka_partition(["a"], 0), ValueError, "num_partitions must be positive"),
        (lambda: compat.kafka_partition(["a"], -2), ValueError, "num_partitions"),
        (lambda: compat.kafka_partition(["a"], 2**31), ValueError, "num_partitions"),
        (lambda: compat.kafka_partition(["a"], 2.0), TypeError, "num_partitions must be an int"),
        (lambda: compat.kafka_murmur2([1, 2]), TypeError, "position 0 is a Python int.*pass key_type"),
        (lambda: compat.kafka_murmur2([1, 2**31], key_type="int"), OverflowError, "position 1 is 2147483648"),
        (lambda: compat.kafka_murmur2(["x"], key_type="int"), TypeError, "position 0 has type str"),
        (lambda: compat.kafka_murmur2([1, "x"], key_type="long"), TypeError, "position 1 has type str"),
        (lambda: compat.kafka_murmur2(["x", 5], key_type="string"), TypeError, "position 1 has type int"),
        (lambda: compat.kafka_murmur2(np.array([1], np.uint64) << np.uint64(63)), OverflowError, "long"),
        (lambda: compat.kafka_murmur2(["x"], key_type="varchar"), ValueError, "unknown Kafka key_type"),
        (lambda: compat.kafka_murmur2(np.array([True])), TypeError, "bool"),
        (lambda: compat.cassandra_token([2**63], key_type="bigint"), OverflowError, "position 0"),
        (lambda: compat.redis_slot(["a", 7]), TypeError, "position 1 has type int"),
        (lambda: compat.redis_slot(np.arange(3)), TypeError, "integer"),
        (lambda: compat.elasticsearch_shard(["a", b"b"], 5), TypeError, "position 1 has type bytes"),
        (lambda: compat.elasticsearch_shard(["a"], 5, routing_num_shards=7), ValueError, "multiple"),
        (lambda: compat.spark_hash(["a"], seed=2**31), ValueError, "seed"),
        (lambda: compat.iceberg_bucket(["not a uuid"], 4, key_type="uuid"), TypeError, "position 0"),
        (lambda: compat.iceberg_bucket([True], 4, key_type="long"), TypeError, "position 0"),
        (lambda: compat.pandas_hash([b"x", 3.5]), TypeError, "position 1"),
        (lambda: compat.dask_partition(["a"], 0), ValueError, "npartitions"),
        (lambda: compat.kafka_partition(pd.Series(["a", None]), 3), ValueError, "position 1"),
        # After nulls, a bad key is named by its position among all the keys.
        (lambda: compat.spark_hash([None, "a", None, 2.5]), TypeError, "position 3 "),
        (lambda: compat.pandas_hash(pd.Series([None, "a", 3.5], dtype=object)), TypeError, "position 2 "),
    ],
)
def test_bad_input_is_a_clear_error(twin, call, error, match):
    with pytest.raises(error, match=match):
        call()
