"""Compiled selection kernels: alias tables, alias sampling, smooth weighted round
robin, least-loaded scans.

Same names, signatures and results as the pure twin ``_select_py``. The Python
layer (``fastring.select``, ``fastring.balance``) validates weights, sizes and
states; these kernels still check shapes, because a mistake there would read or
write out of bounds.

Exactness between the twins: every float computation here is a sum, a difference,
a quotient or a product of doubles evaluated in the same order as in the pure twin,
and none has the shape ``a * b + c`` that a compiler could fuse into one FMA, so
both twins round identically on every IEEE-754 platform. Everything else is
unsigned 64-bit integer arithmetic, which wraps the same way in C and in NumPy.
"""

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.set cimport PySet_Contains
from libc.stdint cimport int64_t, uint8_t, uint64_t

from cpython.pycapsule cimport PyCapsule_GetPointer
from numpy.random cimport bitgen_t

from fastring._hashfuncs cimport FR_SPLITMIX_GAMMA, mix64

import numpy as np

__all__ = [
    "AliasTable",
    "BalancerCore",
    "Lease",
    "SwrrTable",
    "SWRR_ROW_NAMES",
    "alias_build",
    "alias_pick",
    "alias_sample",
    "least_loaded",
    "swrr_next",
    "swrr_next_many",
]

# Rows of the smooth weighted round robin state (an int64 array of shape (SWRR_ROWS, n)),
# named after the fields of nginx's ngx_http_upstream_rr_peer_t.
cdef enum:
    WEIGHT = 0
    CURRENT = 1
    EFFECTIVE = 2
    FAILS = 3
    CHECKED = 4
    ACCESSED = 5
    DOWN = 6
    _SWRR_ROWS = 7

#: The rows by name, in row order (the pure twin's copy must equal it: see
#: tests/test_tables.py). The Python layer takes its row numbers from here.
SWRR_ROW_NAMES = ("weight", "current", "effective", "fails", "checked", "accessed", "down")
assert len(SWRR_ROW_NAMES) == _SWRR_ROWS and SWRR_ROW_NAMES.index("down") == DOWN

cdef extern from *:
    """
    /* High and low words of the 128-bit product a * b. One instruction where the
       compiler offers it (about 1.5x faster per alias draw than four 32-bit
       products); the portable version computes the same numbers. */
    #if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
    #include <intrin.h>
    #endif
    static inline uint64_t fastring_mul128(uint64_t a, uint64_t b, uint64_t *lo) {
    #if defined(__SIZEOF_INT128__)
        unsigned __int128 p = (unsigned __int128)a * b;
        *lo = (uint64_t)p;
        return (uint64_t)(p >> 64);
    #elif defined(_MSC_VER) && defined(_M_X64)
        return _umul128(a, b, lo);
    #elif defined(_MSC_VER) && defined(_M_ARM64)
        *lo = a * b;
        return __umulh(a, b);
    #else
        uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
        uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
        uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
        *lo = a * b;
        return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    #endif
    }
    """
    uint64_t fastring_mul128(uint64_t a, uint64_t b, uint64_t* lo) noexcept nogil


cdef uint64_t LOW32 = 0xFFFFFFFFULL
cdef uint64_t ALWAYS = 0xFFFFFFFFFFFFFFFFULL
cdef double TWO64 = 18446744073709551616.0


def alias_build(const double[::1] weights, uint64_t[::1] threshold, int64_t[::1] alias):
    """Fill Vose's alias table of ``weights`` (non-negative, finite, positive sum).

    Column ``i`` keeps ``i`` when a 64-bit fraction is below ``threshold[i]``
    (probability ``threshold[i] / 2**64``), else yields ``alias[i]``. Columns that
    always keep themselves have ``alias[i] == i``. Zero weights get threshold 0 and a
    positive alias, so they are never drawn.
    """
    cdef Py_ssize_t n = weights.shape[0]
    if threshold.shape[0] != n or alias.shape[0] != n:
        raise ValueError("threshold and alias must have the length of weights")
    if n == 0:
        raise ValueError("no weights")
    cdef Py_ssize_t i, s, l, ns = 0, nl = 0, fallback = -1
    cdef double total = 0.0
    for i in range(n):
        total += weights[i]
        if fallback < 0 and weights[i] > 0.0:
            fallback = i
    if not (total > 0.0 and total < 1.8e308):  # also refuses NaN
        raise ValueError(f"the weights must have a positive finite sum, got {total!r}")
    # Scratch: scaled probabilities and the two work stacks. Freed in `finally`;
    # the loop below cannot raise, so nothing leaks.
    cdef double* p = <double*>PyMem_Malloc(n * sizeof(double))
    cdef Py_ssize_t* small = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
    cdef Py_ssize_t* large = <Py_ssize_t*>PyMem_Malloc(n * sizeof(Py_ssize_t))
    cdef double dn = <double>n
    try:
        if p == NULL or small == NULL or large == NULL:
            raise MemoryError()
        with nogil:
            for i in range(n):
                # w / total <= 1 first, then * n: cannot overflow where w * n could.
                p[i] = (weights[i] / total) * dn
                if p[i] < 1.0:
                    small[ns] = i
                    ns += 1
                else:
                    large[nl] = i
                    nl += 1
            while ns > 0 and nl > 0:
                ns -= 1
                s = small[ns]
                nl -= 1
                l = large[nl]
                # p[s] in [0, 1): p[s] * 2**64 is exact (a power-of-two scaling) and
                # below 2**64, so the conversion is exact too.
                threshold[s] = <uint64_t>(p[s] * TWO64)
                alias[s] = l
                # Vose's update: (p_l + p_s) - 1 loses less than p_l - (1 - p_s).
                p[l] = (p[l] + p[s]) - 1.0
                if p[l] < 1.0:
                    small[ns] = l
                    ns += 1
                else:
                    large[nl] = l
                    nl += 1
            while nl > 0:
                nl -= 1
                l = large[nl]
                threshold[l] = ALWAYS
                alias[l] = l
            # Left over only by rounding (each p is then within n * 2**-52 of 1). A zero
            # weight cannot be among them, but if it were it still must never be drawn.
            while ns > 0:
                ns -= 1
                s = small[ns]
                if weights[s] > 0.0:
                    threshold[s] = ALWAYS
                    alias[s] = s
                else:
                    threshold[s] = 0
                    alias[s] = fallback
    finally:
        PyMem_Free(p)
        PyMem_Free(small)
        PyMem_Free(large)


cdef inline int64_t _alias_draw(const uint64_t* threshold, const int64_t* alias, uint64_t m,
                                uint64_t z) noexcept nogil:
    # Column: the high word of z * m (uniform in [0, m)); coin: the low word, uniform
    # on [0, 2**64) given the column. Branch-free select: the coin is a fair-ish
    # random bit per draw, so a branch would be mispredicted about half the time.
    cdef uint64_t frac
    cdef uint64_t col = fastring_mul128(z, m, &frac)
    cdef uint64_t a = <uint64_t>alias[col]
    cdef uint64_t keep = <uint64_t>(frac < threshold[col])
    return <int64_t>(a ^ ((a ^ col) & (0 - keep)))


cdef Py_ssize_t _check_table(const uint64_t[::1] threshold, const int64_t[::1] alias) except -1:
    cdef Py_ssize_t n = threshold.shape[0]
    if alias.shape[0] != n:
        raise ValueError("threshold and alias differ in length")
    if n == 0 or n > <Py_ssize_t>LOW32:
        raise ValueError("the table must have between 1 and 2**32 - 1 columns")
    return n


def alias_sample(const uint64_t[::1] threshold, const int64_t[::1] alias, uint64_t seed, int64_t[::1] out):
    """Fill ``out`` with alias draws from the SplitMix64 stream keyed by ``seed``.

    Draw ``i`` mixes ``seed + (i + 1) * GAMMA`` into a 64-bit word and draws with it
    as :func:`alias_pick` does.
    """
    cdef uint64_t m = <uint64_t>_check_table(threshold, alias)
    cdef Py_ssize_t i, size = out.shape[0]
    cdef uint64_t state = seed
    with nogil:
        for i in range(size):
            # All arithmetic is modulo 2**64 (unsigned overflow is defined in C).
            state += FR_SPLITMIX_GAMMA  # SplitMix64: the generator of java.util.SplittableRandom
            out[i] = _alias_draw(&threshold[0], &alias[0], m, mix64(state))


cdef uint64_t _next_word(object gen) except? 0:
    """``int(gen.integers(0, 2**64, dtype=np.uint64))`` (what the pure twin draws: the
    bit generator's next_uint64 as it is), through the bit generator's C interface
    and under its lock, as NumPy's own Cython code draws."""
    cdef uint64_t word
    bit_generator = gen.bit_generator
    cdef bitgen_t* source = <bitgen_t*>PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")
    with bit_generator.lock:
        word = source.next_uint64(source.state)
    return word


cdef class AliasTable:
    """A WeightedSampler's table for one draw at a time: ``pick(gen)`` equals
    ``alias_sample(threshold, alias, word, out)`` for one output, with ``word``
    drawn from the Generator ``gen``."""

    cdef const uint64_t[::1] threshold
    cdef const int64_t[::1] alias
    cdef uint64_t m

    def __init__(self, const uint64_t[::1] threshold, const int64_t[::1] alias):
        self.m = <uint64_t>_check_table(threshold, alias)
        self.threshold = threshold
        self.alias = alias

    def pick(self, gen):
        cdef uint64_t seed = _next_word(gen)
        return _alias_draw(&self.threshold[0], &self.alias[0], self.m, mix64(seed + FR_SPLITMIX_GAMMA))


def alias_pick(const uint64_t[::1] threshold, const int64_t[::1] alias, uint64_t word):
    """One alias draw with the 64-bit ``word`` as it is: the column is the high word of
    ``word * n`` and the coin its low word, a fraction of ``2**64`` compared with the
    column's threshold (below it keeps the column, else its alias)."""
    cdef uint64_t m = <uint64_t>_check_table(threshold, alias)
    return _alias_draw(&threshold[0], &alias[0], m, word)


cdef inline int64_t _swrr_step(int64_t[:, ::1] s, Py_ssize_t n, int64_t now,
                               int64_t max_fails, int64_t fail_timeout) noexcept nogil:
    # ngx_http_upstream_get_peer (src/http/ngx_http_upstream_round_robin.c), line by line.
    cdef Py_ssize_t i
    cdef int64_t best = -1, total = 0
    for i in range(n):
        if s[DOWN, i]:
            continue
        if max_fails and s[FAILS, i] >= max_fails and now - s[CHECKED, i] <= fail_timeout:
            continue
        s[CURRENT, i] += s[EFFECTIVE, i]
        total += s[EFFECTIVE, i]
        if s[EFFECTIVE, i] < s[WEIGHT, i]:
            s[EFFECTIVE, i] += 1
        if best == -1 or s[CURRENT, i] > s[CURRENT, best]:
            best = i
    if best == -1:
        return -1
    s[CURRENT, best] -= total
    if now - s[CHECKED, best] > fail_timeout:
        s[CHECKED, best] = now
    return best


cdef _check_state(int64_t[:, ::1] state):
    if state.shape[0] != _SWRR_ROWS:
        raise ValueError(f"the state must have {_SWRR_ROWS} rows")


def swrr_next(int64_t[:, ::1] state, int64_t now, int64_t max_fails, int64_t fail_timeout):
    """One nginx smooth weighted round robin choice, updating ``state``; -1 if none is up."""
    _check_state(state)
    # A single O(n) step: releasing the GIL would cost more than it frees.
    return _swrr_step(state, state.shape[1], now, max_fails, fail_timeout)


cdef class SwrrTable:
    """A smooth weighted round robin state held for one choice at a time: ``next(now,
    max_fails, fail_timeout)`` is ``swrr_next(state, ...)`` without re-reading the
    array's buffer on every call. The state array is shared, not copied."""

    cdef int64_t[:, ::1] state

    def __init__(self, int64_t[:, ::1] state):
        _check_state(state)
        self.state = state

    def next(self, int64_t now, int64_t max_fails, int64_t fail_timeout):
        return _swrr_step(self.state, self.state.shape[1], now, max_fails, fail_timeout)


def swrr_next_many(int64_t[:, ::1] state, int64_t now, int64_t max_fails, int64_t fail_timeout,
                   int64_t[::1] out):
    """Fill ``out`` with successive choices; returns how many were made before none was up."""
    _check_state(state)
    cdef Py_ssize_t i, size = out.shape[0], n = state.shape[1]
    cdef int64_t best
    with nogil:
        for i in range(size):
            best = _swrr_step(state, n, now, max_fails, fail_timeout)
            if best < 0:
                break
            out[i] = best
        else:
            i = size
    return i


def least_loaded(const int64_t[::1] active, const double[::1] weight, const uint8_t[::1] available,
                 Py_ssize_t start):
    """Index of the available node with the least ``active / weight``, scanning cyclically
    from ``start`` (ties go to the first met); -1 if none is available."""
    cdef Py_ssize_t n = active.shape[0]
    if weight.shape[0] != n or available.shape[0] != n:
        raise ValueError("active, weight and available differ in length")
    if n == 0:
        return -1
    if start < 0 or start >= n:
        raise ValueError("start out of range")
    cdef Py_ssize_t i, j, best = -1
    # One O(n) scan per request, under the balancer's lock: the GIL stays held.
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        if not available[i]:
            continue
        # a_i / w_i < a_b / w_b without a division: a_i * w_b < a_b * w_i.
        if best < 0 or <double>active[i] * weight[best] < <double>active[best] * weight[i]:
            best = i
    return best


cdef extern from "Python.h":
    object PyObject_CallNoArgs(object callable)


cdef class Lease


cdef class BalancerCore:
    """The per-request half of a balancer (``fastring.balance``): the lock, the clock,
    the in-flight counts and the leases, so that ``acquire`` and a lease's release make
    no Python call on the common path.

    The balancer owns the node table and health; it calls back into the balancer only
    for what changes rarely or is its own: ``_prepare()`` (if ``prepares``),
    ``_expire(now)`` once ``now >= next_expiry``, ``_no_node()`` (raises) when
    ``n_up == 0``, ``_refresh()`` when ``stale``, ``_choose(key, now)`` unless a
    ``rotation`` (a SwrrTable stepped with its failure handling off) makes the choice,
    ``_observe(i, latency, now)`` (if ``observes``), ``_fail(i, now)`` and
    ``_succeed(i)`` for a node in the ``probation`` set. ``n_up``, ``stale`` and
    ``next_expiry`` are the balancer's to write, under its lock.
    """

    cdef object balancer, lock_acquire, lock_release, clock
    cdef set probation
    cdef readonly tuple names
    cdef int64_t[::1] active
    cdef public Py_ssize_t n_up
    cdef public bint stale
    cdef public double next_expiry
    cdef readonly Py_ssize_t total
    cdef public SwrrTable rotation
    cdef readonly bint prepares, observes

    def __init__(self, balancer, lock, clock, set probation not None, bint prepares, bint observes):
        self.balancer = balancer
        self.lock_acquire = lock.acquire
        self.lock_release = lock.release
        self.clock = clock
        self.probation = probation
        self.prepares = prepares
        self.observes = observes
        self.names = ()
        self.active = np.zeros(0, dtype=np.int64)
        self.next_expiry = float("inf")

    def set_nodes(self, tuple names not None, int64_t[::1] active not None):
        """The node names and the in-flight counts (shared, not copied), index-aligned."""
        if active.shape[0] != len(names):
            raise ValueError("names and active differ in length")
        self.names = names
        self.active = active

    def acquire(self, key=None):
        """Choose a node, count a request in flight on it, return its Lease."""
        cdef double now = PyObject_CallNoArgs(self.clock)
        cdef Py_ssize_t i
        self.lock_acquire()
        try:
            if self.prepares:
                self.balancer._prepare()
            if now >= self.next_expiry:
                self.balancer._expire(now)
            if self.n_up <= 0:
                self.balancer._no_node()
            if self.stale:
                self.balancer._refresh()
            if self.rotation is not None:
                i = _swrr_step(self.rotation.state, self.rotation.state.shape[1], 0, 0, 0)
            else:
                i = self.balancer._choose(key, now)
            if i < 0 or i >= self.active.shape[0]:
                raise IndexError(f"the balancer chose node {i} of {self.active.shape[0]}")
            self.active[i] += 1
            self.total += 1
        finally:
            self.lock_release()
        cdef Lease lease = Lease.__new__(Lease)
        lease.core = self
        lease.index = i
        lease.node = self.names[i]
        lease.start = now
        return lease

    def release(self, Py_ssize_t i, double start, bint failed):
        """End a request on node ``i`` that started at ``start`` (a Lease calls this once)."""
        self._release(i, start, failed)

    cdef _release(self, Py_ssize_t i, double start, bint failed):
        cdef double now = PyObject_CallNoArgs(self.clock)
        self.lock_acquire()
        try:
            if i < 0 or i >= self.active.shape[0]:
                raise IndexError(f"node {i} of {self.active.shape[0]}")
            self.active[i] -= 1
            self.total -= 1
            if self.observes:
                self.balancer._observe(i, now - start, now)
            if failed:
                self.balancer._fail(i, now)
            elif self.probation and PySet_Contains(self.probation, i):
                self.balancer._succeed(i)
        finally:
            self.lock_release()


@cython.auto_pickle(False)
@cython.final
cdef class Lease:
    """One request in flight on ``node``; release it exactly once.

    ``with balancer.acquire() as node:`` releases on exit: an :class:`Exception`
    inside counts as a failure of the node and propagates; a ``BaseException`` that
    is not an ``Exception`` (KeyboardInterrupt, task cancellation, ...) releases
    without blaming the node. Leases come from :meth:`Balancer.acquire`.

    Examples
    --------
    >>> from fastring import LeastConnections
    >>> lb = LeastConnections(["a", "b"])
    >>> lease = lb.acquire()
    >>> lease.node in ("a", "b"), lease.released
    (True, False)
    >>> with lease as node:       # a lease is its own context manager
    ...     pass
    >>> lease.released
    True
    """

    cdef BalancerCore core
    cdef bint done
    cdef readonly Py_ssize_t index
    cdef readonly object node
    cdef readonly double start

    def __init__(self, *args, **kwargs):
        raise TypeError("leases come from a balancer's acquire()")

    def __enter__(self):
        return self.node

    def __exit__(self, exc_type, exc, tb):
        if not self.done:
            self.done = True
            self.core._release(self.index, self.start, exc_type is not None and issubclass(exc_type, Exception))
        return None

    def release(self, *, bint failed=False):
        """End the request; ``failed=True`` counts a failure. Later calls do nothing.

        Examples
        --------
        >>> from fastring import RoundRobin
        >>> lb = RoundRobin(["a"], max_fails=1)
        >>> lease = lb.acquire()             # without ``with``: release it yourself
        >>> lease.release(failed=True)       # the request failed: a takes the blame
        >>> lease.released, lb.is_up("a")
        (True, False)
        """
        if not self.done:
            self.done = True
            self.core._release(self.index, self.start, failed)

    @property
    def released(self):
        """True once the lease has been released."""
        return self.done

    def __repr__(self):
        return f"<Lease {self.node!r} {'released' if self.done else 'in flight'}>"
