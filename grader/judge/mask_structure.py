"""The structure tests of a dropout mask (grader/judge/dropout.py, step 3): no row or column, no
2x2 block, no run and no end of the mask shows more pattern than chance allows. Each test is exact
or a conservative bound (grader/judge/exact.py), Bonferroni-adjusted within itself.
"""
import numpy as np

from grader.judge.exact import binomial_p_values, runs_p_value, spread_p_value

# The structure tests, in the order their results are listed.
STRUCTURE_TESTS = ("lines", "row spread", "column spread", "2x2 blocks", "runs (rows)",
                   "runs (columns)", "ends")


def structure_tests(dropped, usable, p):
    """(name, p-value, failure text) for each structure test on the mask ``dropped`` (2-D bool),
    at drop probability ``p``; ``usable`` marks the unambiguous elements, the only ones any test
    looks at."""
    rows_n, cols_n = usable.sum(axis=1), usable.sum(axis=0)
    rows_d, cols_d = dropped.sum(axis=1), dropped.sum(axis=0)
    return (_lines(rows_n, cols_n, rows_d, cols_d, p) + _spreads(rows_n, cols_n, rows_d, cols_d, p)
            + _blocks(dropped, usable, p) + _runs(dropped, usable, p))


def _lines(rows_n, cols_n, rows_d, cols_d, p):
    """The most extreme row or column, Bonferroni over all of them."""
    ns = np.concatenate([rows_n, cols_n])
    ds = np.concatenate([rows_d, cols_d])
    line_p = np.ones(ns.size)
    for n in np.unique(ns):
        if n:
            in_group = ns == n
            line_p[in_group] = binomial_p_values(int(n), p)[ds[in_group]]
    lines = int(np.count_nonzero(ns))
    if not lines:
        return []
    worst = int(np.argmin(line_p))
    adjusted = min(1.0, float(line_p[worst]) * lines)
    axis_name, i = ("row", worst) if worst < rows_n.size else ("column", worst - rows_n.size)
    return [("lines", adjusted, f"{axis_name} {i} has {ds[worst]} of {ns[worst]} units dropped "
                                f"(p-value {probability_text(adjusted)})")]


def _spreads(rows_n, cols_n, rows_d, cols_d, p):
    """The rows (columns) together do not vary more than chance allows."""
    results = []
    for name, ns, ds, line in (("row spread", rows_n, rows_d, "rows"),
                               ("column spread", cols_n, cols_d, "columns")):
        if np.count_nonzero(ns) > 1:
            value, statistic = spread_p_value(ds, ns, p)
            results.append((name, value, f"the {line} differ more than chance allows (chi-square "
                                         f"{statistic:.0f} over {np.count_nonzero(ns)} {line}, "
                                         f"p-value <= {probability_text(value)})"))
    return results


def _blocks(dropped, usable, p):
    """2x2 windows all dropped or all kept, in four classes of disjoint windows."""
    if dropped.shape[0] < 2 or dropped.shape[1] < 2:
        return []
    q = p ** 4 + (1 - p) ** 4
    a, b, c, d = dropped[:-1, :-1], dropped[1:, :-1], dropped[:-1, 1:], dropped[1:, 1:]
    uniform = (a == b) & (a == c) & (a == d)
    valid = usable[:-1, :-1] & usable[1:, :-1] & usable[:-1, 1:] & usable[1:, 1:]
    classes = []
    for di in (0, 1):
        for dj in (0, 1):
            v = valid[di::2, dj::2]
            w = int(np.count_nonzero(v))
            if w:
                m = int(np.count_nonzero(uniform[di::2, dj::2] & v))
                classes.append((float(binomial_p_values(w, q)[m]), m, w))
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
