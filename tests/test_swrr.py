"""SmoothWeightedRoundRobin against a line-by-line transcription of nginx."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import NoAvailableNode, SmoothWeightedRoundRobin



# -- nginx, transcribed from src/http/ngx_http_upstream_round_robin.c ------------------


class Peer:
    def __init__(self, name, weight, max_fails, fail_timeout):
        self.name = name
        self.weight = weight
        self.effective_weight = weight
        self.current_weight = 0
        self.fails = 0
        self.max_fails = max_fails
        self.fail_timeout = fail_timeout
        self.checked = 0
        self.accessed = 0
        self.down = False


def ngx_get_peer(peers, now):
    """ngx_http_upstream_get_peer."""
    best = None
    total = 0
    for peer in peers:
        if peer.down:
            continue
        if peer.max_fails and peer.fails >= peer.max_fails and now - peer.checked <= peer.fail_timeout:
            continue
        peer.current_weight += peer.effective_weight
        total += peer.effective_weight
        if peer.effective_weight < peer.weight:
            peer.effective_weight += 1
        if best is None or peer.current_weight > best.current_weight:
            best = peer
    if best is None:
        return None
    best.current_weight -= total
    if now - best.checked > best.fail_timeout:
        best.checked = now
    return best


def ngx_free_peer(peer, now, failed):
    """The health part of ngx_http_upstream_free_round_robin_peer."""
    if failed:
        peer.fails += 1
        peer.accessed = now
        peer.checked = now
        if peer.max_fails:
            peer.effective_weight -= peer.weight // peer.max_fails
        if peer.effective_weight < 0:
            peer.effective_weight = 0
    elif peer.accessed < peer.checked:
        peer.fails = 0


# -- tests --------------------------------------------------------------------------


def test_nginx_example(twin):
    rr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    assert "".join(rr.next() for _ in range(14)) == "aabacaa" * 2
    assert rr.next_many(7).tolist() == [0, 0, 1, 0, 2, 0, 0]


def test_equal_weights_rotate(twin):
    rr = SmoothWeightedRoundRobin(["x", "y", "z"])
    assert [rr.next() for _ in range(6)] == ["x", "y", "z"] * 2
    assert rr.weights == {"x": 1, "y": 1, "z": 1}


def test_counts_per_cycle(twin):
    weights = {"a": 7, "b": 3, "c": 11, "d": 1}
    rr = SmoothWeightedRoundRobin(weights)
    picks = rr.next_many(22 * 100)
    assert np.bincount(picks).tolist() == [700, 300, 1100, 100]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("next"), st.integers(0, 0)),
        st.tuples(st.just("many"), st.integers(0, 40)),
        st.tuples(st.just("fail"), st.integers(0, 7)),
        st.tuples(st.just("ok"), st.integers(0, 7)),
        st.tuples(st.just("down"), st.integers(0, 7)),
        st.tuples(st.just("up"), st.integers(0, 7)),
        st.tuples(st.just("tick"), st.integers(0, 15)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(1, 20), min_size=1, max_size=8),
    max_fails=st.integers(0, 4),
    fail_timeout=st.integers(1, 10),
    ops=OPS,
)
def test_matches_nginx(select_modules, weights, max_fails, fail_timeout, ops):
    # Both twins, step by step, against the transcription. Time is whole seconds,
    # as nginx's ngx_time().
    import fastring._select as selector

    names = [f"p{i}" for i in range(len(weights))]
    for module in select_modules:
        saved = {name: getattr(selector, name) for name in selector.__all__}
        for name in selector.__all__:
            setattr(selector, name, getattr(module, name))
        try:
            now = [100]
            rr = SmoothWeightedRoundRobin(
                dict(zip(names, weights)), max_fails=max_fails, fail_timeout=fail_timeout, clock=lambda: float(now[0])
            )
            peers = [Peer(n, w, max_fails, fail_timeout) for n, w in zip(names, weights)]
            for op, arg in ops:
                i = arg % len(peers)
                if op == "next":
                    expected = ngx_get_peer(peers, now[0])
                    if expected is None:
                        with pytest.raises(NoAvailableNode):
                            rr.next()
                    else:
                        assert rr.next() == expected.name
                elif op == "many":
                    snapshot = [vars(p).copy() for p in peers]
                    expected = [ngx_get_peer(peers, now[0]) for _ in range(arg)]
                    if None in expected:
                        for peer, state in zip(peers, snapshot):  # nothing happens on error
                            vars(peer).update(state)
                        with pytest.raises(NoAvailableNode):
                            rr.next_many(arg)
                    else:
                        assert rr.next_many(arg).tolist() == [names.index(p.name) for p in expected]
                elif op == "fail":
                    ngx_free_peer(peers[i], now[0], True)
                    rr.report_failure(names[i])
                elif op == "ok":
                    ngx_free_peer(peers[i], now[0], False)
                    rr.report_success(names[i])
                elif op == "down":
                    peers[i].down = True
                    rr.mark_down(names[i])
                elif op == "up":
                    peers[i].down = False
                    peers[i].fails = 0
                    rr.mark_up(names[i])
                else:
                    now[0] += arg
                assert rr.current_weights == {p.name: p.current_weight for p in peers}
                assert rr.effective_weights == {p.name: p.effective_weight for p in peers}
        finally:
            for name, value in saved.items():
                setattr(selector, name, value)


def test_failure_lowers_effective_weight_and_recovers(twin):
    now = [0.0]
    rr = SmoothWeightedRoundRobin({"a": 10, "b": 10}, max_fails=5, fail_timeout=30, clock=lambda: now[0])
    rr.report_failure("a")
    assert rr.effective_weights == {"a": 8, "b": 10}  # 10 // 5
    rr.next()
    assert rr.effective_weights["a"] == 9
    rr.next()
    assert rr.effective_weights["a"] == 10
    for _ in range(5):
        rr.report_failure("a")
    assert rr.effective_weights["a"] == 0  # floored at 0
    assert not rr.is_up("a")
    assert set(rr.next_many(10).tolist()) == {1}
    now[0] = 31.0
    assert rr.is_up("a")
    assert 0 in rr.next_many(20).tolist()


def test_fail_timeout_probe_and_success(twin):
    # nginx: after fail_timeout the peer gets one request; a success clears its fails.
    now = [1000.0]
    rr = SmoothWeightedRoundRobin({"a": 1, "b": 1}, max_fails=1, fail_timeout=10, clock=lambda: now[0])
    rr.report_failure("a")
    assert [rr.next() for _ in range(3)] == ["b"] * 3
    now[0] = 1011.0
    seq = [rr.next() for _ in range(4)]
    assert seq.count("a") == 1  # the probe; then skipped again until checked + fail_timeout
    rr.report_success("a")
    assert [rr.next() for _ in range(4)].count("a") == 2


def test_all_down(twin):
    rr = SmoothWeightedRoundRobin({"a": 2, "b": 1})
    rr.next()
    before = rr.current_weights
    rr.mark_down("a")
    rr.mark_down("b")
    with pytest.raises(NoAvailableNode):
        rr.next()
    with pytest.raises(NoAvailableNode):
        rr.next_many(3)
    assert rr.current_weights == before
    assert isinstance(NoAvailableNode("x"), LookupError)
    rr.mark_up("b")
    assert rr.next() == "b"
    assert rr.next_many(0).tolist() == []


def test_reset_and_repr(twin):
    rr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    first = rr.next_many(5).tolist()
    rr.report_failure("a")
    rr.mark_down("b")
    rr.reset()
    assert rr.next_many(5).tolist() == first
    assert "SmoothWeightedRoundRobin" in repr(rr) and len(rr) == 3


@pytest.mark.parametrize(
    "weights, error",
    [
        ({}, ValueError),
        ([], ValueError),
        ({"a": 0}, ValueError),
        ({"a": -1}, ValueError),
        ({"a": 1.5}, ValueError),
        ({"a": float("nan")}, ValueError),
        ({"a": "1"}, TypeError),
        ({"a": True}, TypeError),
        (["a", "a"], ValueError),
        ({"a": 2**62}, ValueError),
        (-5, ValueError),  # a count n is the nodes 0 .. n-1
        ("ab", TypeError),
    ],
)
def test_bad_weights(twin, weights, error):
    with pytest.raises(error):
        SmoothWeightedRoundRobin(weights)


def test_bad_arguments(twin):
    rr = SmoothWeightedRoundRobin({"a": 2.0, "b": 1})  # integral floats are fine
    with pytest.raises(KeyError):
        rr.mark_down("zzz")
    with pytest.raises(KeyError):
        rr.report_failure(["unhashable"])
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises((TypeError, ValueError)):
            rr.next_many(bad)
    with pytest.raises(ValueError):
        SmoothWeightedRoundRobin(["a"], max_fails=-1)
    with pytest.raises(ValueError):
        SmoothWeightedRoundRobin(["a"], fail_timeout=0)
    with pytest.raises(TypeError):
        SmoothWeightedRoundRobin(["a"], clock=5)


def test_kernels_refuse_bad_state(select_modules):
    for module in select_modules:
        with pytest.raises(ValueError):
            module.swrr_next(np.zeros((3, 2), np.int64), 0, 0, 0)
        with pytest.raises(ValueError):
            module.swrr_next_many(np.zeros((3, 2), np.int64), 0, 0, 0, np.empty(2, np.int64))


def test_threads(twin):
    # Four threads share one rotation: every full cycle still gives exact counts.
    rr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1})
    counts = [np.zeros(3, np.int64) for _ in range(4)]

    def work(k):
        for _ in range(700):
            counts[k][rr.next_index()] += 1
        counts[k] += np.bincount(rr.next_many(700), minlength=3)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts).tolist() == [4000, 800, 800]


def test_swrr_table_equals_swrr_next_in_both_twins(compiled):
    from fastring.select import _initial_state

    compiled_select, pure_select = compiled["select"]
    weights = [5, 1, 1, 3]
    for module in (compiled_select, pure_select):
        by_table, by_call = _initial_state(weights), _initial_state(weights)
        table = module.SwrrTable(by_table)
        picks = [table.next(i, 1, 10) for i in range(50)]
        assert picks == [module.swrr_next(by_call, i, 1, 10) for i in range(50)]
        assert (by_table == by_call).all()  # the table updates the shared array in place
        with pytest.raises(ValueError):
            module.SwrrTable(np.zeros((2, 3), dtype=np.int64))
