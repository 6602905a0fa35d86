"""WeightedSampler: exact tables, chi-square on millions of draws, determinism, parity, bad weights."""

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import WeightedSampler



M64 = (1 << 64) - 1


# -- an independent reference: Vose's table and the SplitMix64 draw in Python integers --


def reference_table(weights):
    n = len(weights)
    total = 0.0
    for w in weights:
        total += w
    p = [(w / total) * n for w in weights]
    small = [i for i in range(n) if p[i] < 1.0]
    large = [i for i in range(n) if p[i] >= 1.0]
    threshold, alias = [M64] * n, list(range(n))
    while small and large:
        s, l = small.pop(), large.pop()
        threshold[s], alias[s] = int(p[s] * 2.0**64), l
        p[l] = (p[l] + p[s]) - 1.0
        (small if p[l] < 1.0 else large).append(l)
    return threshold, alias


def reference_draws(weights, seed, size):
    threshold, alias = reference_table(weights)
    n = len(weights)
    out = []
    state = seed
    for _ in range(size):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        column, coin = divmod(z * n, 1 << 64)
        out.append(column if coin < threshold[column] else alias[column])
    return out


def table_probabilities(threshold, alias):
    """The exact probability of each index implied by an alias table."""
    n = len(threshold)
    prob = np.zeros(n)
    for column, (t, a) in enumerate(zip(threshold.tolist(), alias.tolist())):
        keep = 1.0 if a == column else t / 2.0**64
        prob[column] += keep / n
        prob[a] += (1.0 - keep) / n
    return prob


def chi2_bound(dof, alpha):
    """Upper bound of the (1 - alpha) quantile of chi-square with ``dof`` degrees of freedom.

    Laurent & Massart (2000, Lemma 1): P(X >= k + 2 sqrt(k t) + 2 t) <= exp(-t). With a
    fixed seed the test is deterministic; alpha = 1e-9 means a correct sampler would
    fail for fewer than one seed in 10^9, so the test cannot flake when anything
    unrelated (the NumPy version, the platform) changes the stream.
    """
    t = math.log(1 / alpha)
    return dof + 2 * math.sqrt(dof * t) + 2 * t


def chi2(counts, probabilities):
    expected = probabilities * counts.sum()
    positive = expected > 0
    assert (counts[~positive] == 0).all(), "drew an index of probability zero"
    return float((((counts - expected) ** 2)[positive] / expected[positive]).sum()), int(positive.sum()) - 1


weights_lists = st.lists(
    st.one_of(
        st.just(0.0),
        st.floats(min_value=1e-6, max_value=1e6),
        st.integers(min_value=1, max_value=1000).map(float),
    ),
    min_size=1,
    max_size=300,
).filter(lambda ws: any(w > 0 for w in ws))


# -- tables ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(weights=weights_lists)
def test_table_parity_and_reference(select_modules, weights):
    w = np.array(weights)
    tables = []
    for module in select_modules:
        threshold, alias = np.empty(len(w), np.uint64), np.empty(len(w), np.int64)
        module.alias_build(w, threshold, alias)
        tables.append((threshold, alias))
    tc, ac = tables[0]
    for tp, ap in tables[1:]:
        assert (tc == tp).all() and (ac == ap).all()
    ref_threshold, ref_alias = reference_table(weights)
    # The reference keeps rounding leftovers at M64 / self, as the kernels do.
    assert tc.tolist() == ref_threshold and ac.tolist() == ref_alias
    # Zero weights: never kept, never an alias.
    zero = w == 0
    assert (tc[zero] == 0).all()
    assert not zero[ac].any()
    # The table's probabilities are the weights' to rounding.
    np.testing.assert_allclose(table_probabilities(tc, ac), w / w.sum(), rtol=1e-9, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(weights=weights_lists, seed=st.integers(0, M64), size=st.integers(0, 300))
def test_sample_parity_and_reference(select_modules, weights, seed, size):
    w = np.array(weights)
    threshold, alias = np.empty(len(w), np.uint64), np.empty(len(w), np.int64)
    select_modules[-1].alias_build(w, threshold, alias)
    expected = reference_draws(weights, seed, size)
    for module in select_modules:
        out = np.empty(size, np.int64)
        module.alias_sample(threshold, alias, seed, out)
        assert out.tolist() == expected


@settings(max_examples=100, deadline=None)
@given(weights=weights_lists, word=st.integers(0, M64))
def test_pick_is_one_draw_on_the_word_as_given(select_modules, weights, word):
    # alias_pick is alias_sample's draw without the SplitMix64 step: the reference's
    # column and coin of the word itself, in both twins.
    w = np.array(weights)
    threshold, alias = np.empty(len(w), np.uint64), np.empty(len(w), np.int64)
    select_modules[-1].alias_build(w, threshold, alias)
    column, coin = divmod(word * len(w), 1 << 64)
    expected = column if coin < int(threshold[column]) else int(alias[column])
    for module in select_modules:
        assert module.alias_pick(threshold, alias, word) == expected
        assert module.alias_pick(memoryview(threshold), memoryview(alias), word) == expected


def test_known_draws(twin):
    s = WeightedSampler([1, 2, 3, 4])
    seed = int(np.random.default_rng(42).integers(0, 2**64, dtype=np.uint64))
    assert s.sample(20, rng=42).tolist() == reference_draws([1.0, 2.0, 3.0, 4.0], seed, 20)


def test_exact_two_weights(twin):
    # 1:3 -> column 0 keeps itself with probability exactly 1/2, column 1 always.
    s = WeightedSampler([1, 3])
    assert s._threshold.tolist() == [2**63, M64]
    assert s._alias.tolist() == [1, 1]


# -- statistics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights",
    [
        [1, 2, 3, 4],
        [5, 1, 1],
        [0, 0, 1, 0, 2, 0, 0, 3],
        [1e-3, 1, 1e3],
        np.random.default_rng(3).pareto(1.5, 1000).tolist(),
    ],
    ids=["1234", "511", "zeros", "wide", "pareto1000"],
)
def test_chi_square(twin, weights):
    draws = 4_000_000
    s = WeightedSampler(weights)
    counts = np.bincount(s.sample(draws, rng=20261126), minlength=len(weights))
    statistic, dof = chi2(counts, s.probabilities)
    assert statistic < chi2_bound(dof, 1e-9), (statistic, dof)


def test_chi_square_has_power(twin):
    # The same test rejects weights that are off by 3%: it is not vacuous.
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    counts = np.bincount(WeightedSampler(weights).sample(4_000_000, rng=1), minlength=4)
    wrong = weights * np.array([1.03, 1.0, 1.0, 1.0])
    statistic, dof = chi2(counts, wrong / wrong.sum())
    assert statistic > chi2_bound(dof, 1e-9)


def test_zero_weights_never_drawn(twin):
    weights = [0.0] * 50 + [1e-300] + [0.0] * 50 + [1.0]
    draws = WeightedSampler(weights).sample(1_000_000, rng=5)
    assert set(np.unique(draws).tolist()) <= {50, 101}


def test_without_replacement_distribution(twin):
    # Ordered pairs of successive weighted draws without replacement:
    # P(i, j) = w_i / W * w_j / (W - w_i).
    weights = np.array([1.0, 2.0, 3.0, 0.0, 4.0])
    s = WeightedSampler(weights)
    gen = np.random.default_rng(11)
    reps = 40_000
    pairs = np.array([s.sample(2, rng=gen, replace=False) for _ in range(reps)])
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert not (pairs == 3).any()
    total = weights.sum()
    cells, probs = [], []
    for i in range(5):
        for j in range(5):
            if i != j and weights[i] and weights[j]:
                cells.append(5 * i + j)
                probs.append(weights[i] / total * weights[j] / (total - weights[i]))
    counts = np.bincount(pairs[:, 0] * 5 + pairs[:, 1], minlength=25)[cells]
    statistic, dof = chi2(counts, np.array(probs))
    assert statistic < chi2_bound(dof, 1e-9)


def test_without_replacement_all_and_limits(twin):
    s = WeightedSampler({"a": 1, "b": 0, "c": 2})
    assert sorted(s.sample(2, rng=1, replace=False).tolist()) == [0, 2]
    assert s.sample(0, rng=1, replace=False).tolist() == []
    with pytest.raises(ValueError, match="only 2 weights are positive"):
        s.sample(3, rng=1, replace=False)
    with pytest.raises(TypeError):
        s.sample((2,), rng=1, replace=False)
    # Tiny weights cannot overflow the keys into a tie with zero weights.
    tiny = WeightedSampler([0.0, 5e-324, 0.0])
    assert tiny.sample(1, rng=2, replace=False).tolist() == [1]


# -- API, determinism ---------------------------------------------------------------


def test_determinism_and_rng_kinds(twin):
    s = WeightedSampler([3, 1, 4, 1, 5])
    assert (s.sample(1000, rng=7) == s.sample(1000, rng=7)).all()
    assert not (s.sample(1000, rng=7) == s.sample(1000, rng=8)).all()
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    a = [s.sample(10, rng=g1) for _ in range(3)]
    b = [s.sample(10, rng=g2) for _ in range(3)]
    assert all((x == y).all() for x, y in zip(a, b))
    assert not (a[0] == a[1]).all()  # the Generator advances
    assert s.sample(10).shape == (10,)  # rng=None
    assert s.sample(10, rng=np.int64(7)).tolist() == s.sample(10, rng=7).tolist()
    for bad in (True, 1.5, "7", np.random.RandomState(1)):
        with pytest.raises(TypeError):
            s.sample(3, rng=bad)
    with pytest.raises(ValueError):
        s.sample(3, rng=-1)


def test_shapes_and_names(twin):
    s = WeightedSampler({"x": 1, "y": 2, "z": 0})
    assert s.names == ("x", "y", "z")
    assert len(s) == 3
    out = s.sample((4, 5), rng=1)
    assert out.shape == (4, 5) and out.dtype == np.int64
    assert s.sample(0, rng=1).shape == (0,)
    assert s.sample((), rng=1).shape == ()
    assert set(s.sample_names(100, rng=1)) <= {"x", "y"}
    assert s.pick(rng=3) == s.sample(1, rng=3)[0]
    assert s.pick_name(rng=3) == s.names[s.pick(rng=3)]
    assert WeightedSampler([1, 2]).names == (0, 1)
    np.testing.assert_allclose(s.probabilities, [1 / 3, 2 / 3, 0])
    with pytest.raises(ValueError):
        s.weights[0] = 5  # read-only
    for bad in (-1, 2.5, "3", None):
        with pytest.raises((TypeError, ValueError)):
            s.sample(bad, rng=1)


def test_pickle_round_trip(twin):
    for s in (WeightedSampler({"a": 1.5, "b": 0, "c": 2}), WeightedSampler([1, 2, 3])):
        t = pickle.loads(pickle.dumps(s))
        assert t.names == s.names
        assert (t.sample(100, rng=1) == s.sample(100, rng=1)).all()


def test_numpy_inputs(twin):
    for arr in (np.array([1, 2, 3], dtype=np.int8), np.array([1.0, 2.0], dtype=np.float32), np.arange(1, 5, dtype=np.uint64)):
        assert len(WeightedSampler(arr)) == len(arr)


@pytest.mark.parametrize(
    "weights, error, match",
    [
        ([], ValueError, "empty"),
        ({}, ValueError, "empty"),
        ([0, 0], ValueError, "all weights are zero"),
        ([1, -1], ValueError, "finite and >= 0"),
        ([1, float("nan")], ValueError, "finite and >= 0"),
        ([1, float("inf")], ValueError, "finite and >= 0"),
        ([1e308, 1e308], ValueError, "positive finite sum"),
        ([1, True], TypeError, "real number"),
        (["1", 2], TypeError, "real number"),
        ([1, None], TypeError, "real number"),
        ({"a": "x"}, TypeError, "real number"),
        (np.ones((2, 2)), ValueError, "one-dimensional"),
        (np.array(["a"]), TypeError, "dtype"),
        (np.array([True, False]), TypeError, "dtype"),
        ("abc", TypeError, "sequence"),
        (-1, ValueError, "node count"),  # a count n is the nodes 0 .. n-1 (test_consistency)
    ],
)
def test_bad_weights(twin, weights, error, match):
    with pytest.raises(error, match=match):
        WeightedSampler(weights)


def test_kernels_refuse_bad_shapes(select_modules):
    for module in select_modules:
        w = np.array([1.0, 2.0])
        with pytest.raises(ValueError):
            module.alias_build(w, np.empty(3, np.uint64), np.empty(2, np.int64))
        with pytest.raises(ValueError):
            module.alias_build(np.array([0.0, 0.0]), np.empty(2, np.uint64), np.empty(2, np.int64))
        with pytest.raises(ValueError):
            module.alias_sample(np.empty(2, np.uint64), np.empty(3, np.int64), 0, np.empty(1, np.int64))
        with pytest.raises(ValueError, match="differ in length"):
            module.alias_pick(np.empty(2, np.uint64), np.empty(3, np.int64), 0)
        with pytest.raises(ValueError, match="between 1"):
            module.alias_pick(np.empty(0, np.uint64), np.empty(0, np.int64), 0)


@pytest.mark.parametrize("bits", ["PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"])
def test_pick_is_sample_of_one_and_draws_one_word(twin, bits):
    make = getattr(np.random, bits)
    sampler = WeightedSampler({f"n{i}": i + 1 for i in range(10)} | {"zero": 0})
    a, b = np.random.Generator(make(11)), np.random.Generator(make(11))
    picks = [sampler.pick(a) for _ in range(300)]
    assert picks == [int(sampler.sample(1, rng=b)[0]) for _ in range(300)]
    assert a.integers(0, 2**64, dtype=np.uint64) == b.integers(0, 2**64, dtype=np.uint64)  # same stream left
    assert sampler.names.index("zero") not in picks
    assert all(type(p) is int for p in picks)


def test_pick_twins_agree(compiled):
    compiled_select, pure_select = compiled["select"]
    threshold = np.array([2**63, 2**64 - 1, 5], dtype=np.uint64)
    alias = np.array([1, 1, 0], dtype=np.int64)
    tables = [module.AliasTable(threshold, alias) for module in (compiled_select, pure_select)]
    gens = [np.random.default_rng(7), np.random.default_rng(7)]
    assert [tables[0].pick(gens[0]) for _ in range(500)] == [tables[1].pick(gens[1]) for _ in range(500)]
    for module in (compiled_select, pure_select):
        with pytest.raises(ValueError):
            module.AliasTable(threshold, alias[:2])
