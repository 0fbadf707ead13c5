"""Exact distributions for the dropout check (grader/judge/dropout.py): the binomial distribution
and its two-sided p-values, the acceptance interval of a count, the Wald-Wolfowitz runs
distribution, and a Chernoff bound for the spread of lines. All computed in logs from
math.lgamma, cached by size; no approximation that could make a test less conservative.
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Probabilities within this relative margin count as equal when summing "no more likely than the
# observed" (floating-point ties; the same margin as scipy.stats.binomtest). It only makes the
# p-values larger, that is, the tests more conservative.
_TIE = 1 + 1e-7

# Chernoff exponents tried for the spread bound; any exponent gives a valid bound, the grid only
# decides how tight it is (the optimum for a chi-square-like sum lies below 1/2).
_LAMBDAS = np.linspace(0.005, 0.75, 150)


_log_factorials = np.zeros(1)


def _log_factorial(n):
    """log(k!) for k = 0..n (at least), from math.lgamma; grown on demand."""
    global _log_factorials
    if len(_log_factorials) <= n:
        size = max(n + 1, 2 * len(_log_factorials))
        _log_factorials = np.array([math.lgamma(k + 1) for k in range(size)])
    return _log_factorials


def _log_binomial(a, b):
    """log C(a, b) elementwise for int arrays; -inf where b < 0 or b > a."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    lf = _log_factorial(int(a.max(initial=0)))
    valid = (b >= 0) & (b <= a) & (a >= 0)
    a_c, b_c = np.where(valid, a, 0), np.where(valid, b, 0)
    return np.where(valid, lf[a_c] - lf[b_c] - lf[a_c - b_c], -np.inf)


def binomial_log_pmf(n, p):
    """log P(K = k), k = 0..n, for K ~ Binomial(n, p), from math.lgamma (-inf where impossible)."""
    k = np.arange(n + 1)
    if p <= 0.0 or p >= 1.0:
        return np.where(k == (0 if p <= 0.0 else n), 0.0, -np.inf)
    return _log_binomial(n, k) + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_pmf(n, p):
    """P(K = k), k = 0..n, for K ~ Binomial(n, p)."""
    return np.exp(binomial_log_pmf(n, p))


def two_sided_p_values(pmf):
    """For each outcome, the total probability of the outcomes no more likely than it."""
    pmf = np.asarray(pmf, dtype=np.float64)
    order = np.argsort(pmf, kind="stable")
    ascending = pmf[order]
    cumulative = np.cumsum(ascending)
    upto = np.searchsorted(ascending, pmf * _TIE, side="right")
    return np.minimum(1.0, cumulative[upto - 1])


@lru_cache(maxsize=4096)
def binomial_p_values(n, p):
    """The two-sided exact p-value of every count k = 0..n of Binomial(n, p), read-only."""
    values = two_sided_p_values(binomial_pmf(n, p))
    values.flags.writeable = False
    return values


def binomial_p_value(k, n, p):
    """Two-sided exact binomial p-value of ``k`` successes in ``n`` trials of probability ``p``:
    the sum of the probabilities of the counts no more likely than ``k``."""
    if not 0 <= k <= n:
        raise ValueError(f"k must lie in 0..n, got k={k}, n={n}")
    return float(binomial_p_values(int(n), float(p))[int(k)])


@lru_cache(maxsize=1024)
def accepted_interval(n, p, level):
    """The counts (lo, hi) whose two-sided p-value is at least ``level``: an interval, as the
    binomial distribution is unimodal."""
    accepted = np.flatnonzero(binomial_p_values(n, p) >= level)
    return int(accepted[0]), int(accepted[-1])


@lru_cache(maxsize=4096)
def _runs_pvalues(n1, n2):
    """Two-sided exact p-values of the number of runs r = 0..n1+n2 in a random arrangement of n1
    ones and n2 zeros (Wald-Wolfowitz): P(r = 2k) = 2 C(n1-1, k-1) C(n2-1, k-1) / C(n, n1),
    P(r = 2k+1) = [C(n1-1, k) C(n2-1, k-1) + C(n1-1, k-1) C(n2-1, k)] / C(n, n1)."""
    n = n1 + n2
    pmf = np.zeros(n + 1)
    if n1 == 0 or n2 == 0:
        pmf[min(n, 1)] = 1.0
    else:
        k = np.arange(1, min(n1, n2) + 2)
        total = _log_binomial(n, n1)
        even = math.log(2) + _log_binomial(n1 - 1, k - 1) + _log_binomial(n2 - 1, k - 1) - total
        odd = np.logaddexp(_log_binomial(n1 - 1, k) + _log_binomial(n2 - 1, k - 1),
                           _log_binomial(n1 - 1, k - 1) + _log_binomial(n2 - 1, k)) - total
        for r, log_p in ((2 * k, even), (2 * k + 1, odd)):
            inside = r <= n
            pmf[r[inside]] = np.exp(log_p[inside])
    values = two_sided_p_values(pmf)
    values.flags.writeable = False
    return values


def runs_p_value(sequence):
    """Two-sided exact Wald-Wolfowitz p-value and the number of runs of a boolean sequence."""
    sequence = np.asarray(sequence, dtype=bool)
    n1 = int(np.count_nonzero(sequence))
    runs = int(sequence.size and 1 + np.count_nonzero(sequence[1:] != sequence[:-1]))
    return float(_runs_pvalues(n1, sequence.size - n1)[runs]), runs


@lru_cache(maxsize=1024)
def _spread_terms(n, p):
    """For one line of n units: f(d) = (d - n p)^2 / (n p (1-p)) for d = 0..n, and
    log E[exp(lambda f(D))] over the lambda grid, D ~ Binomial(n, p)."""
    d = np.arange(n + 1)
    f = (d - n * p) ** 2 / (n * p * (1 - p))
    # In logs throughout: a far tail whose probability underflows still counts once weighted.
    log_terms = binomial_log_pmf(n, p)[None, :] + _LAMBDAS[:, None] * f[None, :]
    top = log_terms.max(axis=1)
    log_mgf = top + np.log(np.exp(log_terms - top[:, None]).sum(axis=1))
    f.flags.writeable = False
    log_mgf.flags.writeable = False
    return f, log_mgf


def spread_p_value(dropped_per_line, units_per_line, p):
    """Chernoff bound on P(T >= t) for T = sum over lines of (d_i - n_i p)^2 / (n_i p (1-p)):
    min over lambda of exp(sum_i log E[exp(lambda f_i)] - lambda t). Conservative (never below the
    exact tail). Lines with no units are left out."""
    return SpreadBound.of(units_per_line, p).p_value(dropped_per_line)


@dataclass(frozen=True, eq=False)
class SpreadBound:
    """:func:`spread_p_value` for lines of ``units_per_line`` units at ``p``, with what depends
    on the lines alone computed once: the lines grouped by length, each group's terms, and the
    sum of their log moment generating functions."""

    groups: tuple  # (in_group mask, f table) per line length, shortest first
    log_mgf: np.ndarray

    @classmethod
    def of(cls, units_per_line, p):
        groups = []
        log_mgf = np.zeros_like(_LAMBDAS)
        for n in np.unique(units_per_line):
            if n == 0:
                continue
            f, line_log_mgf = _spread_terms(int(n), p)
            in_group = units_per_line == n
            groups.append((in_group, f))
            log_mgf = log_mgf + np.count_nonzero(in_group) * line_log_mgf
        return cls(tuple(groups), log_mgf)

    def p_value(self, dropped_per_line):
        """(bound, statistic t) for ``dropped_per_line`` units dropped in each line."""
        total = 0.0
        for in_group, f in self.groups:
            total += float(f[dropped_per_line[in_group]].sum())
        return (float(min(1.0, math.exp(min(0.0, float(np.min(self.log_mgf - _LAMBDAS * total)))))),
                total)
