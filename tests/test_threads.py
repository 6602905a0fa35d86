"""lookup_many(threads=N): the same answer as one thread, for every router and container."""

import numpy as np
import pyarrow as pa
import pytest

from fastring import HashRing, JumpRouter, Maglev, MementoRouter, Rendezvous, _threads

NODES = [f"node-{i}" for i in range(9)]
N = 1_013  # several slices of 100 keys, and an uneven last one


def routers():
    memento = MementoRouter(NODES)
    memento.remove("node-3")  # the replacement path, not plain jump
    return [
        HashRing(NODES),
        HashRing({n: i + 1 for i, n in enumerate(NODES)}, algorithm="murmur3_32"),
        HashRing(NODES, compat="ketama"),
        HashRing(NODES, compat="uhashring"),
        Maglev(NODES, table_size=1009),
        Rendezvous(NODES),
        memento,
        JumpRouter(NODES),
    ]


def containers():
    words = [f"user:{i}" for i in range(N)]
    return {
        "int64": np.arange(N, dtype=np.int64) * 7919 - 10**6,
        "list of str": words,
        "arrow strings": pa.chunked_array([words[:17], words[17:]]),
        "S array": np.array(words, dtype="S"),
    }


@pytest.fixture
def small_slices(monkeypatch):
    monkeypatch.setattr(_threads, "MIN_KEYS_PER_THREAD", 100)


@pytest.mark.parametrize("kind", list(containers()))
def test_threads_give_the_same_nodes(twin, small_slices, kind):
    keys = containers()[kind]
    for router in routers():
        one = router.lookup_many(keys)
        for threads in (2, 3, 16):
            np.testing.assert_array_equal(router.lookup_many(keys, threads=threads), one, err_msg=repr(router))


def test_slices_cover_every_key_once(small_slices):
    for n in (0, 1, 99, 100, 250, 1_013):
        for threads in (1, 2, 7):
            pieces = _threads.slices(n, threads)
            assert pieces[0][0] == 0 and pieces[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
            assert len(pieces) <= max(1, threads)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_bad_thread_counts_are_refused(twin, bad):
    for router in routers():
        with pytest.raises(ValueError, match="threads must be a positive int"):
            router.lookup_many(["a"], threads=bad)


def test_an_error_in_one_slice_leaves_no_output(twin, small_slices):
    keys = [f"k{i}" for i in range(N)]
    keys[777] = 1.5
    for router in routers()[:2] + routers()[4:]:
        with pytest.raises(TypeError, match="position 777"):
            router.lookup_many(keys, threads=4)
