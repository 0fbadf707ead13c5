"""The structure tests of a dropout mask (grader/judge/dropout.py, step 3): no row or column, no
2x2 block, no run and no end of the mask shows more pattern than chance allows. Each test is exact
or a conservative bound (grader/judge/exact.py), Bonferroni-adjusted within itself.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from grader.judge.exact import SpreadBound, binomial_p_values, runs_p_value

# The structure tests, in the order their results are listed.
STRUCTURE_TESTS = ("lines", "row spread", "column spread", "2x2 blocks", "runs (rows)",
                   "runs (columns)", "ends")


def structure_tests(dropped, usable, p):
    """(name, p-value, failure text) for each structure test on the mask ``dropped`` (2-D bool),
    at drop probability ``p``; ``usable`` marks the unambiguous elements, the only ones any test
    looks at."""
    plan = _Plan.of(usable, p)
    rows_d, cols_d = dropped.sum(axis=1), dropped.sum(axis=0)
    return (_lines(plan, rows_d, cols_d) + _spreads(plan, rows_d, cols_d)
            + _blocks(plan, dropped) + _runs(dropped, usable, p))


@dataclass(frozen=True, eq=False)
class _Plan:
    """What the tests need that depends only on which units are usable, and on p: the same for
    every student graded on one input (the usable units are those whose source is not about 0),
    so computed once per (usable, p) and kept (a few, least recently used first forgotten)."""

    p: float
    rows: int  # the number of rows (the lines' first ``rows`` are rows, then columns)
    line_units: np.ndarray  # units per row, then per column
    line_groups: tuple  # (in_group mask, binomial p-values) per line length
    lines: int  # lines with a unit
    spreads: tuple  # (name, words, units per line, SpreadBound) for rows, then columns
    blocks: tuple  # (q, ((di, dj, valid windows, their number, binomial p-values), ...))

    @classmethod
    def of(cls, usable, p):
        return _plan(usable.shape, np.packbits(usable).tobytes(), float(p))


@lru_cache(maxsize=64)
def _plan(shape, packed, p):
    usable = np.unpackbits(np.frombuffer(packed, dtype=np.uint8),
                           count=int(np.prod(shape))).reshape(shape).astype(bool)
    rows_n, cols_n = usable.sum(axis=1), usable.sum(axis=0)
    ns = np.concatenate([rows_n, cols_n])
    line_groups = tuple((ns == n, binomial_p_values(int(n), p)) for n in np.unique(ns) if n)
    spreads = tuple((name, words, n, SpreadBound.of(n, p))
                    for name, words, n in (("row spread", "rows", rows_n),
                                           ("column spread", "columns", cols_n))
                    if np.count_nonzero(n) > 1)
    return _Plan(p, rows_n.size, ns, line_groups, int(np.count_nonzero(ns)), spreads,
                 _block_classes(usable, p))


def _block_classes(usable, p):
    """q, the chance a 2x2 window is all dropped or all kept, and the four classes of disjoint
    windows whose units are all usable (those with any)."""
    if usable.shape[0] < 2 or usable.shape[1] < 2:
        return None
    q = p ** 4 + (1 - p) ** 4
    valid = usable[:-1, :-1] & usable[1:, :-1] & usable[:-1, 1:] & usable[1:, 1:]
    classes = []
    for di in (0, 1):
        for dj in (0, 1):
            v = valid[di::2, dj::2]
            w = int(np.count_nonzero(v))
            if w:
                classes.append((di, dj, v, w, binomial_p_values(w, q)))
    return q, tuple(classes)


def _lines(plan, rows_d, cols_d):
    """The most extreme row or column, Bonferroni over all of them."""
    ns = plan.line_units
    ds = np.concatenate([rows_d, cols_d])
    line_p = np.ones(ns.size)
    for in_group, p_values in plan.line_groups:
        line_p[in_group] = p_values[ds[in_group]]
    if not plan.lines:
        return []
    worst = int(np.argmin(line_p))
    adjusted = min(1.0, float(line_p[worst]) * plan.lines)
    axis_name, i = ("row", worst) if worst < plan.rows else ("column", worst - plan.rows)
    return [("lines", adjusted, f"{axis_name} {i} has {ds[worst]} of {ns[worst]} units dropped "
                                f"(p-value {probability_text(adjusted)})")]


def _spreads(plan, rows_d, cols_d):
    """The rows (columns) together do not vary more than chance allows."""
    results = []
    for name, line, ns, bound in plan.spreads:
        value, statistic = bound.p_value(rows_d if line == "rows" else cols_d)
        results.append((name, value, f"the {line} differ more than chance allows (chi-square "
                                     f"{statistic:.0f} over {np.count_nonzero(ns)} {line}, "
                                     f"p-value <= {probability_text(value)})"))
    return results


def _blocks(plan, dropped):
    """2x2 windows all dropped or all kept, in four classes of disjoint windows."""
    if plan.blocks is None:
        return []
    q, window_classes = plan.blocks
    a, b, c, d = dropped[:-1, :-1], dropped[1:, :-1], dropped[:-1, 1:], dropped[1:, 1:]
    uniform = (a == b) & (a == c) & (a == d)
    classes = []
    for di, dj, v, w, p_values in window_classes:
        m = int(np.count_nonzero(uniform[di::2, dj::2] & v))
        classes.append((float(p_values[m]), m, w))
    if not classes:
        return []
    best, m, w = min(classes)
    adjusted = min(1.0, best * len(classes))
    return [("2x2 blocks", adjusted, f"{m} of {w} disjoint 2x2 windows are all dropped or all "
                                     f"kept, about {q * w:.0f} expected (p-value "
                                     f"{probability_text(adjusted)})")]


def _runs(dropped, usable, p):
    """Runs in row-major and column-major order; the end runs of the row-major sequence."""
    results = []
    sequence = dropped[usable]
    for name, seq in (("runs (rows)", sequence), ("runs (columns)", dropped.T[usable.T])):
        value, runs = runs_p_value(seq)
        n1, n = int(np.count_nonzero(seq)), seq.size
        mean = 1 + 2 * n1 * (n - n1) / n if n else 0
        order = "row-major" if name == "runs (rows)" else "column-major"
        results.append((name, value, f"{runs} runs in {order} order, about {mean:.0f} expected "
                                     f"(p-value {probability_text(value)})"))
    if sequence.size:
        ends = []
        for where, seq in (("first", sequence), ("last", sequence[::-1])):
            changes = np.flatnonzero(seq[1:] != seq[0])
            length = int(changes[0]) + 1 if changes.size else seq.size
            chance = p ** length + (1 - p) ** length
            ends.append((chance, where, length, bool(seq[0])))
        chance, where, length, kind = min(ends)
        adjusted = min(1.0, 2 * chance)
        results.append(("ends", adjusted, f"the {where} {length} units are all "
                                          f"{'dropped' if kind else 'kept'} (p-value "
                                          f"{probability_text(adjusted)})"))
    return results


def probability_text(value):
    """A probability as the messages print it: 0.62, 0.0031, 4.1e-05."""
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"
