"""Judging a dropout train output, which has no single right answer: its mask is random.

A correct inverted-dropout output (DESIGN.md: ``p`` is the probability of DROPPING a unit) holds, in
every element, either 0 or ``source / (1 - p)``, where ``source`` is ``x`` for the forward pass and
``dout`` for the backward pass; each unit is dropped independently with probability ``p``. The
check has three steps:

1. Values. Every element must read as 0 or as the kept value, with the tolerance rule of
   grader/judge/compare.py (``|got - v| <= atol * scale + rtol * |v|``, ``scale = max |source / (1-p)|``).
   An element whose kept value is itself about 0 reads both ways; it is *ambiguous*, and left out of
   the mask statistics. Which elements are ambiguous depends on ``source`` alone, so the remaining
   ones are still independent draws.
   When some values are wrong, the mask is still read where it can be: from the wrong scale that
   explains every value (``source`` unscaled, scaled by 1/p, or by the student's own factor, the
   median of ``got / source``), else from the zeros (a zero is unambiguous even when the kept values
   are wrong; every other element counts as kept). A NaN, or an output in which no element reads as
   0 or as kept, defines no mask: then no count or structure figures are given. The check fails
   anyway; the figures only tell the student what else is (or is not) wrong.
2. Count. The number dropped among the ``n`` unambiguous elements is Binomial(n, p) for a correct
   implementation; a two-sided exact binomial test (p-value: the total probability of the counts no
   more likely than the one observed) accepts the counts whose p-value is at least its share of
   alpha.
3. Structure. The mask must show no pattern (each test exact, or a conservative bound):

   - ``lines``: no row or column is dropped much more or less than chance allows: the smallest exact
     two-sided binomial p-value over the rows and columns, times their number (Bonferroni);
   - ``row spread`` and ``column spread``: the rows (columns) together do not vary more than chance
     allows (whole rows dropped, one mask repeated on every row): the sum over lines of
     ``(d_i - n_i p)^2 / (n_i p (1-p))``, its tail bounded by a Chernoff bound computed from the
     exact binomial distribution of every line;
   - ``2x2 blocks``: the 2x2 windows that are all dropped or all kept are neither too many (blocks of
     dropped units, an upsampled mask) nor too few (a checkerboard). The windows fall into four
     classes of disjoint windows; in each, the count is exactly Binomial(w, p^4 + (1-p)^4); the
     smallest two-sided p-value times 4 (Bonferroni);
   - ``runs (rows)`` and ``runs (columns)``: the Wald-Wolfowitz runs test on the mask read in
     row-major and in column-major order, exact given the numbers dropped and kept (too few runs: a
     sorted mask, stripes; too many: alternation);
   - ``ends``: the first and last runs of that row-major sequence are not longer than chance allows
     (the first ``k`` units dropped): ``P(a given end run >= L) = p^L + (1-p)^L``, times 2.

The count and the seven structure tests each get ``alpha / 8`` (Bonferroni), so a correct
implementation fails the whole check with probability at most ``alpha`` (1e-6 by default), whatever
the source values and the shape. Once the count has failed (so the check fails anyway), the structure
tests are run at the observed fraction instead of p, so that a wrong rate is not reported as a
pattern. tests/test_dropout_stats.py grades thousands of simulated correct outputs at the default
shapes (no failure; each test's p-values checked for validity) and the catalogued wrong ones (all
fail, with their diagnosis).

Diagnoses (DESIGN.md codes): ``no_scaling`` (kept values equal the source), ``keep_probability`` (p
read as the probability of keeping: kept values scaled by 1/p, or a dropped fraction that is a
plausible draw at 1-p with no structure in the mask), ``not_random`` (a structure test failed, or
the mask is constant). Everything the messages show is the student's own output or the input it
came from, never a hidden expected file.

Wording: ``drop_prob`` is always the resolved DROP probability, and the messages call it "drop
probability 0.3", never "p", as a course's own ``p`` may be the keep probability
(``dropout_p_means = "keep"``). Given the course's ``p`` and its meaning (``course_p``,
``p_means``), a message that explains the convention, or writes the kept value as a formula, uses
them: ``x/p = x/0.7`` and "this assignment's p = 0.7 is the probability of KEEPING a unit" in a
keep-probability course, ``x/(1-p) = x/0.7`` in a drop-probability one.

Pure: no printing, no file I/O, no global random state. Grading a 20x20 output takes about 0.4 ms
(the exact distributions are cached by size).
"""
import hashlib
import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from grader.judge import tolerance

ALPHA = 1e-6  # the largest probability that a correct implementation fails the check

# The tests alpha is split over (Bonferroni): the count, then the seven structure tests.
TESTS = ("count", "lines", "row spread", "column spread", "2x2 blocks", "runs (rows)",
         "runs (columns)", "ends")

# Probabilities within this relative margin count as equal when summing "no more likely than the
# observed" (floating-point ties; the same margin as scipy.stats.binomtest). It only makes the
# p-values larger, that is, the tests more conservative.
_TIE = 1 + 1e-7

# A failed count is put down to p read as the keep probability only when the count is a plausible
# draw at 1-p (two-sided p-value at least this) and the mask shows no structure.
PLAUSIBLE = 1e-4

# Chernoff exponents tried for the spread bound; any exponent gives a valid bound, the grid only
# decides how tight it is (the optimum for a chi-square-like sum lies below 1/2).
_LAMBDAS = np.linspace(0.005, 0.75, 150)


@dataclass(frozen=True)
class DropoutVerdict:
    """The judgement of one dropout train output. Every field is JSON-ready (no NaN or Inf).

    ``dropped`` counts the zeros among the ``tested`` unambiguous elements; ``size`` counts all.
    ``accepted_interval`` holds the dropped counts the binomial test accepts, and
    ``accepted_fractions`` the same as fractions of ``tested``; both, and ``p_value``, are None
    when no unit was counted (``tested`` 0: the values define no mask, or every unit reads either
    way). ``mask_defined`` says whether the values define a mask at all (module docstring).
    ``structure_tests`` pairs each structure test with its p-value (Bonferroni-adjusted within the
    test); a test fails below ``alpha / 8``. ``mask_digest`` fingerprints the mask (sha256 of its
    shape and bits) so that a batch can spot two submissions sharing one; None when any value is
    neither 0 nor the kept value. ``course_p`` and ``p_means`` are the course's own ``p`` and its
    meaning ("drop" or "keep"), for the wording; ``course_p`` is None when not given.
    """

    passed: bool
    size: int
    tested: int
    ambiguous: int
    dropped: int
    observed_fraction: float | None
    expected_fraction: float  # the drop probability p
    accepted_interval: tuple | None  # (lo_count, hi_count)
    accepted_fractions: tuple | None  # (lo_fraction, hi_fraction)
    p_value: float | None  # two-sided exact binomial p-value of ``dropped``
    bad_values: int
    worst_bad_index: tuple | None
    worst_bad_value: float | None  # the student's value there
    worst_bad_kept: float | None  # source / (1-p) there
    structure_failures: tuple
    structure_tests: tuple  # ((name, p_value), ...)
    diagnosis: str | None
    message: str
    alpha: float
    source_name: str
    mask_digest: str | None
    mask_defined: bool = True
    course_p: float | None = None  # the course's own p, as its spec states it
    p_means: str = "drop"  # what the course's p means: "drop" or "keep"

    def figures(self):
        """The verdict's figures, JSON-ready: every field but the sentences and the fingerprint,
        which a check keeps apart."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("message", "diagnosis", "mask_digest")}

    @property
    def test_level(self):
        """The level each of the eight tests is held to: alpha / 8."""
        return self.alpha / len(TESTS)

    def describe(self):
        """Several lines for a feedback page: the figures behind the verdict."""
        src = self.source_name
        p = self.expected_fraction
        lines = [("PASS: " if self.passed else "FAIL: ") + self.message]
        if self.tested:
            lo, hi = self.accepted_interval
            lo_f, hi_f = self.accepted_fractions
            notes = []
            if self.course_p is not None:
                notes.append(_convention(p, self.course_p, self.p_means))
            if self.ambiguous:
                notes.append(f"{self.ambiguous} units with {src} ~ 0 read either way, not counted")
            lines.append(f"Dropped: {self.dropped} of {self.tested} units ({self.observed_fraction:.1%}); "
                         f"drop probability {p:g}" + "".join(f" ({note})" for note in notes))
            lines.append(f"Accepted: {lo} to {hi} dropped ({lo_f:.1%} to {hi_f:.1%}); two-sided exact "
                         f"binomial p-value {_prob(self.p_value)}")
        elif not self.mask_defined:
            lines.append("Dropped: not counted (the values do not define a mask)")
        elif self.size:
            lines.append(f"Dropped: not counted (every unit has {src} ~ 0 and reads either way)")
        kept = _kept_formula(src, p, self.p_means)
        if self.bad_values:
            lines.append(f"Values: {self.bad_values} of {self.size} elements are neither 0 nor "
                         f"{kept}; e.g. {_value(self.worst_bad_value)} at index "
                         f"{_fmt_index(self.worst_bad_index)}, where {_kept_short(src, p)} = "
                         f"{self.worst_bad_kept:.6g}")
        else:
            lines.append(f"Values: every element is 0 or {kept} within tolerance")
        if self.structure_failures:
            lines.append("Mask structure: " + "; ".join(self.structure_failures))
        elif self.structure_tests:
            lines.append("Mask structure: rows, columns, 2x2 blocks, runs and ends show no pattern")
        elif not self.mask_defined:
            lines.append("Mask structure: not checked (the values do not define a mask)")
        elif not self.tested:
            lines.append("Mask structure: not checked (no unit counted)")
        else:
            lines.append("Mask structure: not checked (every counted unit is dropped, or every one "
                         "kept: no pattern to test)")
        lines.append(f"A correct implementation fails this check with probability <= {self.alpha:g} "
                     f"({len(TESTS)} tests, each at {self.test_level:.3g}: Bonferroni).")
        return "\n".join(lines)


def check_dropout_train(got, source, drop_prob, rtol=None, atol=None, alpha=ALPHA, source_name="x",
                        course_p=None, p_means="drop"):
    """Judge ``got``, a dropout train output, against its ``source``; return a :class:`DropoutVerdict`.

    Parameters
    ----------
    got : ndarray, 2-D
        The student's output. A 1-D array is read as one row; N-d arrays as rows along the first
        axis and the rest flattened.
    source : ndarray, same shape as got
        What dropout was applied to: ``x`` (forward) or ``dout`` (backward).
    drop_prob : float in [0, 1)
        The probability of DROPPING a unit (already resolved from the spec's convention).
    rtol, atol : float
        The tolerance rule of grader/judge/compare.py; give both or neither (the spec defaults).
    alpha : float
        The largest probability that a correct implementation fails; split over 8 tests.
    source_name : str
        How messages name ``source``: ``"x"`` or ``"dout"``.
    course_p : float, optional
        The course's own ``p`` as its spec states it (``problem.params["p"]``), for the wording of
        the messages only; it must agree with ``drop_prob`` under ``p_means``.
    p_means : {"drop", "keep"}
        What the course's ``p`` means (``assignment.dropout_p_means``). The default, with no
        ``course_p``, is the reference's convention: p is the drop probability.
    """
    rtol, atol = tolerance.resolve(rtol, atol)
    got = np.asarray(got, dtype=np.float64)
    source = np.asarray(source, dtype=np.float64)
    if got.shape != source.shape:
        raise ValueError(f"shapes differ: got {got.shape}, {source_name} {source.shape}")
    drop_prob = float(drop_prob)
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f"drop_prob is the probability of dropping a unit and must lie in [0, 1), "
                         f"got {drop_prob}")
    if p_means not in ("drop", "keep"):
        raise ValueError(f"p_means must be 'drop' or 'keep', got {p_means!r}")
    if course_p is not None:
        course_p = float(course_p)
        implied = course_p if p_means == "drop" else 1.0 - course_p
        if not abs(implied - drop_prob) <= 1e-9:
            raise ValueError(f"course_p = {course_p:g} ({p_means} probability) gives a drop "
                             f"probability of {implied:g}, not drop_prob = {drop_prob:g}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if not np.all(np.isfinite(source)):
        raise ValueError(f"{source_name} holds NaN or Inf")
    shape = got.shape
    grid = (1, -1) if got.ndim <= 1 else (shape[0], -1)
    got2, source2 = got.reshape(grid), source.reshape(grid)
    level = alpha / len(TESTS)
    factor = 1.0 / (1.0 - drop_prob)

    reading = _Reading(got2, source2, factor, rtol, atol)
    explained_by = None  # (code, factor, reading): one wrong scale that explains every value
    if reading.bad.any():
        alternatives = [("no_scaling", 1.0)]
        if drop_prob > 0:
            alternatives.append(("keep_probability", 1.0 / drop_prob))
        own = _own_scale(got2, source2, reading)
        if own is not None:
            alternatives.append((None, own))
        for code, alt_factor in alternatives:
            if abs(alt_factor - factor) > 1e-9 * factor:
                alt = _Reading(got2, source2, alt_factor, rtol, atol)
                if not alt.bad.any():
                    explained_by = (code, alt_factor, alt)
                    break

    # The mask the statistics describe: the correct reading, or the wrong scale that explains every
    # value; else the zeros, every other element counting as kept, unless the values look nothing
    # like a dropout output (a NaN, or no element reading as 0 or as kept).
    mask_reading = explained_by[2] if explained_by else reading
    usable = ~mask_reading.ambiguous
    mask_defined = True
    if reading.bad.any() and not explained_by:
        mask_defined = bool(np.isfinite(got2).all()
                            and (~reading.bad & usable).any())
        if not mask_defined:
            usable = np.zeros_like(usable)
    dropped_mask = mask_reading.zero & usable
    tested = int(np.count_nonzero(usable))
    dropped = int(np.count_nonzero(dropped_mask))
    if tested:
        lo, hi = _accepted_interval(tested, drop_prob, level)
        p_value = float(_binom_pvalues(tested, drop_prob)[dropped])
        count_ok = lo <= dropped <= hi
    else:
        lo = hi = p_value = None
        count_ok = True

    # Structure, judged at the drop probability; once the count has failed (the check fails
    # anyway), at the observed fraction instead, so that a wrong rate is not mistaken for a pattern.
    structure_tests = ()
    failures = []
    structure_p = drop_prob if count_ok else dropped / tested
    if tested and 0.0 < structure_p < 1.0:
        structure_tests = _structure_tests(dropped_mask, usable, structure_p)
        failures = [text for _, p, text in structure_tests if p < level]
        structure_tests = tuple((name, p) for name, p, _ in structure_tests)

    bad_values = int(np.count_nonzero(reading.bad))
    worst_index = worst_value = worst_kept = None
    if bad_values:
        flat = int(np.argmax(reading.excess))
        worst_index = tuple(int(i) for i in np.unravel_index(flat, shape))
        worst_value = float(got2.flat[flat]) if np.isfinite(got2.flat[flat]) else None
        worst_kept = float(source2.flat[flat] * factor)

    src = source_name
    keep_prob = 1.0 - drop_prob
    kept = _kept_formula(src, drop_prob, p_means)  # x/(1-p) = x/0.7, or x/p = x/0.7
    convention = _convention(drop_prob, course_p, p_means)
    frac = dropped / tested if tested else None
    count_text = (f"dropped {dropped} / {tested}" + (f" ({frac:.1%})" if tested else "")
                  + f", accepted {lo}-{hi} for drop probability {drop_prob:g}")
    count_failure = None  # the count's failure, as a message says it
    if not count_ok:
        if dropped in (0, tested):
            what = "no unit was dropped" if dropped == 0 else "every unit was dropped"
            count_failure = f"{count_text}: {what}"
        else:
            count_failure = f"{count_text} (binomial p-value {_prob(p_value)})"
    diagnosis = None
    if bad_values:
        code = explained_by[0] if explained_by else None
        if code == "no_scaling":
            diagnosis = "no_scaling"
            message = (f"kept values equal {src} instead of {kept} = {factor:.4g} * {src}: divide "
                       f"the kept units by the keep probability {keep_prob:g} in train mode "
                       "(inverted dropout)")
        elif code == "keep_probability":
            diagnosis = "keep_probability"
            message = (f"kept values are {src}/{drop_prob:g} = {explained_by[1]:.4g} * {src}, "
                       f"expected {kept} = {factor:.4g} * {src}: {convention}")
        elif explained_by:  # the student's own constant scale
            message = (f"{bad_values} of {got.size} values are neither 0 nor {kept}: the kept "
                       f"values are {explained_by[1]:.4g} * {src}, expected {factor:.4g} * {src}")
        else:
            message = (f"{bad_values} of {got.size} values are neither 0 nor {kept}, e.g. "
                       f"{_value(worst_value)} at {_fmt_index(worst_index)} where "
                       f"{_kept_short(src, drop_prob)} = {worst_kept:.6g}")
        also = []
        if not count_ok:
            also.append(count_failure)
        if failures:
            also.append("the mask is not random: " + _first(failures))
        if also:
            message += "; also " + "; ".join(also)
    elif not count_ok:
        flipped = 1.0 - drop_prob
        if failures:
            diagnosis = "not_random"
            message = f"{count_text}; the mask is not random: {_first(failures)}"
        elif dropped in (0, tested):
            diagnosis = "not_random"
            failures.append("no unit was dropped" if dropped == 0 else "every unit was dropped")
            message = count_failure
        elif (abs(flipped - drop_prob) > 1e-12
              and _binom_pvalues(tested, flipped)[dropped] >= PLAUSIBLE):
            diagnosis = "keep_probability"
            message = (f"{count_text}: the dropped fraction matches the keep probability "
                       f"{flipped:g}, not the drop probability {drop_prob:g}; {convention}")
            if p_means == "keep":
                message += f", so drop each unit with probability 1 - p = {drop_prob:g}"
        else:
            message = count_failure
    elif failures:
        diagnosis = "not_random"
        message = "the mask is not random: " + _first(failures)
    elif tested:
        message = f"{count_text}; values and mask look right"
    else:
        message = f"every unit has {src} ~ 0 and reads either way: values look right"

    passed = bad_values == 0 and count_ok and not failures
    digest = None
    if not reading.bad.any():
        digest = hashlib.sha256(repr(shape).encode() + np.packbits(reading.zero).tobytes()).hexdigest()
    return DropoutVerdict(
        passed=passed,
        size=int(got.size),
        tested=tested,
        ambiguous=int(np.count_nonzero(mask_reading.ambiguous)),
        dropped=dropped,
        observed_fraction=frac,
        expected_fraction=drop_prob,
        accepted_interval=(lo, hi) if tested else None,
        accepted_fractions=(lo / tested, hi / tested) if tested else None,
        p_value=p_value,
        bad_values=bad_values,
        worst_bad_index=worst_index,
        worst_bad_value=worst_value,
        worst_bad_kept=worst_kept,
        structure_failures=tuple(failures),
        structure_tests=structure_tests,
        diagnosis=diagnosis,
        message=message,
        alpha=float(alpha),
        source_name=source_name,
        mask_digest=digest,
        mask_defined=mask_defined,
        course_p=course_p,
        p_means=p_means,
    )


def _own_scale(got, source, reading):
    """The student's own factor for the kept values, the median of ``got / source`` over the
    elements that are neither 0 nor ambiguous, or None (none such, or not finite)."""
    candidates = ~reading.zero & ~reading.ambiguous & np.isfinite(got)
    if not candidates.any():
        return None
    scale = float(np.median(got[candidates] / source[candidates]))
    return scale if math.isfinite(scale) and scale != 0.0 else None


def _kept_formula(src, drop_prob, p_means):
    """The kept value in the course's terms and in numbers: ``x/(1-p) = x/0.7`` (p the drop
    probability) or ``x/p = x/0.7`` (p the keep probability)."""
    symbol = f"{src}/p" if p_means == "keep" else f"{src}/(1-p)"
    return f"{symbol} = {_kept_short(src, drop_prob)}"


def _kept_short(src, drop_prob):
    return f"{src}/{1.0 - drop_prob:g}"


def _convention(drop_prob, course_p, p_means):
    """What p means, in the course's terms: "this assignment's p = 0.7 is the probability of
    KEEPING a unit"; without the course's p, "p = 0.3 is the probability of DROPPING a unit"."""
    if course_p is None:
        who, value = "p", drop_prob if p_means == "drop" else 1.0 - drop_prob
    else:
        who, value = "this assignment's p", course_p
    meaning = "KEEPING" if p_means == "keep" else "DROPPING"
    return f"{who} = {value:g} is the probability of {meaning} a unit"


class _Reading:
    """Each element of ``got`` read as 0 or as ``source * factor``, with the compare rule."""

    def __init__(self, got, source, factor, rtol, atol):
        kept = source * factor
        abs_kept = np.abs(kept)
        atol_abs = atol * tolerance.scale_of(abs_kept)
        allow_kept = atol_abs + rtol * abs_kept  # the rule of grader/judge/tolerance.py
        dist_zero = np.abs(got)
        dist_kept = np.abs(got - kept)
        self.zero = dist_zero <= atol_abs
        self.kept = dist_kept <= allow_kept
        self.bad = ~(self.zero | self.kept)  # NaN reads as neither
        # Both readings possible, whatever got is: decided by source alone.
        self.ambiguous = abs_kept <= atol_abs + allow_kept
        self._excess = (dist_zero - atol_abs, dist_kept - allow_kept)

    @property
    def excess(self):
        """How far each element lies outside both readings (NaN: infinitely far)."""
        return np.nan_to_num(np.minimum(*self._excess), nan=np.inf)


# --------------------------------------------------------------------------------------------------
# Exact distributions
# --------------------------------------------------------------------------------------------------

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
def _binom_pvalues(n, p):
    values = two_sided_p_values(binomial_pmf(n, p))
    values.flags.writeable = False
    return values


def binomial_p_value(k, n, p):
    """Two-sided exact binomial p-value of ``k`` successes in ``n`` trials of probability ``p``:
    the sum of the probabilities of the counts no more likely than ``k``."""
    if not 0 <= k <= n:
        raise ValueError(f"k must lie in 0..n, got k={k}, n={n}")
    return float(_binom_pvalues(int(n), float(p))[int(k)])


@lru_cache(maxsize=1024)
def _accepted_interval(n, p, level):
    """The counts (lo, hi) whose two-sided p-value is at least ``level``: an interval, as the
    binomial distribution is unimodal."""
    accepted = np.flatnonzero(_binom_pvalues(n, p) >= level)
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
    total = 0.0
    log_mgf = np.zeros_like(_LAMBDAS)
    for n in np.unique(units_per_line):
        if n == 0:
            continue
        f, line_log_mgf = _spread_terms(int(n), p)
        in_group = units_per_line == n
        total += float(f[dropped_per_line[in_group]].sum())
        log_mgf = log_mgf + np.count_nonzero(in_group) * line_log_mgf
    return float(min(1.0, math.exp(min(0.0, float(np.min(log_mgf - _LAMBDAS * total)))))), total


# --------------------------------------------------------------------------------------------------
# Structure tests
# --------------------------------------------------------------------------------------------------

def _structure_tests(dropped, usable, p):
    """(name, p-value, failure text) for each structure test on the mask ``dropped`` (2-D bool);
    ``usable`` marks the unambiguous elements, the only ones any test looks at."""
    results = []
    rows_n = usable.sum(axis=1)
    cols_n = usable.sum(axis=0)
    rows_d = dropped.sum(axis=1)
    cols_d = dropped.sum(axis=0)

    # Lines: the most extreme row or column, Bonferroni over all of them.
    ns = np.concatenate([rows_n, cols_n])
    ds = np.concatenate([rows_d, cols_d])
    line_p = np.ones(ns.size)
    for n in np.unique(ns):
        if n:
            in_group = ns == n
            line_p[in_group] = _binom_pvalues(int(n), p)[ds[in_group]]
    lines = int(np.count_nonzero(ns))
    if lines:
        worst = int(np.argmin(line_p))
        adjusted = min(1.0, float(line_p[worst]) * lines)
        axis_name, i = ("row", worst) if worst < rows_n.size else ("column", worst - rows_n.size)
        results.append(("lines", adjusted, f"{axis_name} {i} has {ds[worst]} of {ns[worst]} units "
                                           f"dropped (p-value {_prob(adjusted)})"))

    # Spread of rows and of columns.
    for name, ns, ds, line in (("row spread", rows_n, rows_d, "rows"),
                               ("column spread", cols_n, cols_d, "columns")):
        if np.count_nonzero(ns) > 1:
            value, statistic = spread_p_value(ds, ns, p)
            results.append((name, value, f"the {line} differ more than chance allows (chi-square "
                                         f"{statistic:.0f} over {np.count_nonzero(ns)} {line}, "
                                         f"p-value <= {_prob(value)})"))

    # 2x2 windows all dropped or all kept, in four classes of disjoint windows.
    if dropped.shape[0] > 1 and dropped.shape[1] > 1:
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
                    classes.append((float(_binom_pvalues(w, q)[m]), m, w))
        if classes:
            best, m, w = min(classes)
            adjusted = min(1.0, best * len(classes))
            results.append(("2x2 blocks", adjusted,
                            f"{m} of {w} disjoint 2x2 windows are all dropped or all kept, about "
                            f"{q * w:.0f} expected (p-value {_prob(adjusted)})"))

    # Runs in row-major and column-major order; the end runs of the row-major sequence.
    sequence = dropped[usable]
    for name, seq in (("runs (rows)", sequence), ("runs (columns)", dropped.T[usable.T])):
        value, runs = runs_p_value(seq)
        n1, n = int(np.count_nonzero(seq)), seq.size
        mean = 1 + 2 * n1 * (n - n1) / n if n else 0
        order = "row-major" if name == "runs (rows)" else "column-major"
        results.append((name, value, f"{runs} runs in {order} order, about {mean:.0f} expected "
                                     f"(p-value {_prob(value)})"))
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
                                          f"{'dropped' if kind else 'kept'} (p-value {_prob(adjusted)})"))
    return results


def _first(failures):
    """The first failure, and how many more there are (the message is one line)."""
    more = len(failures) - 1
    return failures[0] + (f" (and {more} more finding{'s' if more > 1 else ''})" if more else "")


def _prob(value):
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"


def _value(value):
    return "nan" if value is None else f"{value:.6g}"


def _fmt_index(index):
    return "(" + ", ".join(str(i) for i in index) + ("," if len(index) == 1 else "") + ")"
