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

Diagnoses: this module decides every dropout train mistake, and grader/diagnosis/ asks it (one
engine, one set of statistics). In order:

- ``not_random``: a structure test failed, whatever else is wrong (a mask drawn for one row and
  broadcast over the batch, the first units dropped in order);
- ``no_dropout`` (no unit dropped, beyond chance) and ``all_zero`` (every unit dropped): a constant
  mask, the kept values right or unscaled;
- a wrong scale that explains every value: ``no_scaling`` (``source``), ``inverse_scaling``
  (``source * (1-p)``), or ``source / p``: ``keep_probability`` when the dropped fraction fits the
  keep reading too (a plausible draw at 1-p, and no less plausible than at p), ``normal_draw`` when
  it fits a mask drawn from a normal distribution instead (below), else ``scaled_by_drop`` (the
  kept units divided by the drop probability, the mask right);
- right values, a failed count: ``keep_probability`` when the fraction is a plausible draw at
  1-p, ``normal_draw`` when it is one at a normal mask's fraction.

"Plausible" is a two-sided exact binomial p-value of at least ``PLAUSIBLE``. A normal mask is
``np.random.randn(...) < p`` (p read as the keep probability: keeps Phi(p) of the units, scaled by
1/p) or ``np.random.randn(...) > p`` (p read as the drop probability: keeps 1 - Phi(p), scaled by
1/(1-p)), with the course's own p; it is named only when the count fails at the drop probability
and the scale is that form's. Everything the messages show is the student's own output or the
input it came from, never a hidden expected file.

Wording: ``drop_prob`` is always the resolved DROP probability, and the messages call it "drop
probability 0.3", never "p", as a course's own ``p`` may be the keep probability
(``dropout_p_means = "keep"``). Given the course's ``p`` and its meaning (``course_p``,
``p_means``), a message that explains the convention, or writes the kept value as a formula, uses
them: ``x/p = x/0.7`` and "this assignment's p = 0.7 is the probability of KEEPING a unit" in a
keep-probability course, ``x/(1-p) = x/0.7`` in a drop-probability one.

The exact distributions live in grader/judge/exact.py and the structure tests in
grader/judge/mask_structure.py. Pure: no printing, no file I/O, no global random state. Grading a
20x20 output takes about 0.4 ms (the exact distributions are cached by size).
"""
import hashlib
import math
from dataclasses import dataclass, fields

import numpy as np

from grader.judge import tolerance
from grader.judge.exact import accepted_interval, binomial_p_values
from grader.judge.mask_structure import STRUCTURE_TESTS, probability_text, structure_tests

ALPHA = 1e-6  # the largest probability that a correct implementation fails the check

# The tests alpha is split over (Bonferroni): the count, then the seven structure tests.
TESTS = ("count",) + STRUCTURE_TESTS

# The fields of a DropoutVerdict that its figures() leave out.
_NOT_FIGURES = ("message", "diagnosis", "mask_digest", "kept_scale")

# A failed count is put down to another rate (p read as the keep probability, a normal mask) only
# when the count is a plausible draw at that rate: its two-sided p-value is at least this.
PLAUSIBLE = 1e-4


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
    kept_scale: float | None = None  # the factor every kept value is ``source`` times, if one is

    def figures(self):
        """The verdict's figures, JSON-ready: every field but the sentences, the fingerprint,
        which a check keeps apart, and the kept values' scale, which the diagnosis reads."""
        return {name: getattr(self, name) for name in _FIGURES}

    @classmethod
    def from_figures(cls, figures, message, diagnosis=None, mask_digest=None):
        """The verdict whose :meth:`figures` are among ``figures`` (a check's details, read back
        from JSON, lists where there were tuples), with the fields figures leave out given;
        ``kept_scale`` is None."""
        values = {name: figures[name] for name in _FIGURES if name in figures}
        for name in ("accepted_interval", "accepted_fractions", "worst_bad_index"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        values["structure_failures"] = tuple(values["structure_failures"])
        values["structure_tests"] = tuple(tuple(test) for test in values["structure_tests"])
        return cls(message=message, diagnosis=diagnosis, mask_digest=mask_digest, **values)

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
                         f"binomial p-value {probability_text(self.p_value)}")
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


# The fields of a DropoutVerdict in its figures(), in their order.
_FIGURES = tuple(f.name for f in fields(DropoutVerdict) if f.name not in _NOT_FIGURES)


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
    drop_prob, course_p = _checked(got, source, drop_prob, alpha, source_name, course_p, p_means)
    grid = (1, -1) if got.ndim <= 1 else (got.shape[0], -1)
    got2, source2 = got.reshape(grid), source.reshape(grid)
    level = alpha / len(TESTS)
    factor = 1.0 / (1.0 - drop_prob)

    reading = _Reading(got2, source2, factor, rtol, atol)
    explained_by = _explaining_scale(got2, source2, reading, drop_prob, rtol, atol)
    mask = _mask(got2, reading, explained_by)
    count = _Count.of(mask, drop_prob, level)
    structure, failures = _structure(mask, count, drop_prob, level)
    bad = _BadValues.of(reading, got2, source2, factor, got.shape)
    words = _Words(source_name, drop_prob, course_p, p_means)
    kept_scale = explained_by[1] if explained_by else None if bad.count else factor
    diagnosis, message, failures = _judgement(words, bad, explained_by, count, failures, got.size)

    digest = None
    if not reading.bad.any():
        digest = hashlib.sha256(repr(got.shape).encode()
                                + np.packbits(reading.zero).tobytes()).hexdigest()
    tested = count.tested
    return DropoutVerdict(
        passed=bad.count == 0 and count.ok and not failures,
        size=int(got.size),
        tested=tested,
        ambiguous=int(np.count_nonzero(mask.reading.ambiguous)),
        dropped=count.dropped,
        observed_fraction=count.fraction,
        expected_fraction=drop_prob,
        accepted_interval=(count.lo, count.hi) if tested else None,
        accepted_fractions=(count.lo / tested, count.hi / tested) if tested else None,
        p_value=count.p_value,
        bad_values=bad.count,
        worst_bad_index=bad.index,
        worst_bad_value=bad.value,
        worst_bad_kept=bad.kept,
        structure_failures=tuple(failures),
        structure_tests=structure,
        diagnosis=diagnosis,
        message=message,
        alpha=float(alpha),
        source_name=source_name,
        mask_digest=digest,
        mask_defined=mask.defined,
        course_p=course_p,
        p_means=p_means,
        kept_scale=kept_scale,
    )


def count_accepted(dropped, tested, drop_prob, alpha=ALPHA):
    """Whether the count test of :func:`check_dropout_train` accepts ``dropped`` of ``tested``
    units at ``drop_prob``: what a diagnosis resting on chance ("no unit was dropped") asks."""
    if not tested:
        return True
    lo, hi = accepted_interval(int(tested), float(drop_prob), alpha / len(TESTS))
    return lo <= dropped <= hi


def _checked(got, source, drop_prob, alpha, source_name, course_p, p_means):
    """The arguments checked: ``(drop_prob, course_p)`` as floats (course_p may be None)."""
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
    return drop_prob, course_p


def _explaining_scale(got, source, reading, drop_prob, rtol, atol):
    """When some values are wrong: (kind, factor, reading) for the one wrong scale that explains
    every value (``source`` unscaled, divided by p, times 1-p, or the student's own factor; kind
    "no_scaling", "by_drop", "inverse_scaling" or None), else None."""
    if not reading.bad.any():
        return None
    alternatives = [("no_scaling", 1.0)]
    if drop_prob > 0:
        alternatives.append(("by_drop", 1.0 / drop_prob))
        alternatives.append(("inverse_scaling", 1.0 - drop_prob))
    own = _own_scale(got, source, reading)
    if own is not None:
        alternatives.append((None, own))
    for code, alt_factor in alternatives:
        if abs(alt_factor - reading.factor) > 1e-9 * reading.factor:
            alt = _Reading(got, source, alt_factor, reading.rtol, reading.atol)
            if not alt.bad.any():
                return code, alt_factor, alt
    return None


@dataclass(frozen=True, eq=False)
class _Mask:
    """The mask the statistics describe: ``dropped`` among the ``usable`` (unambiguous) units,
    read from ``reading``; ``defined`` False when the values define no mask (``usable`` empty)."""

    reading: object
    dropped: np.ndarray
    usable: np.ndarray
    defined: bool


def _mask(got, reading, explained_by):
    """The correct reading, or the wrong scale that explains every value; else the zeros, every
    other element counting as kept, unless the values look nothing like a dropout output (a NaN,
    or no element reading as 0 or as kept)."""
    mask_reading = explained_by[2] if explained_by else reading
    usable = ~mask_reading.ambiguous
    defined = True
    if reading.bad.any() and not explained_by:
        defined = bool(np.isfinite(got).all() and (~reading.bad & usable).any())
        if not defined:
            usable = np.zeros_like(usable)
    return _Mask(mask_reading, mask_reading.zero & usable, usable, defined)


@dataclass(frozen=True)
class _Count:
    """The count test: ``dropped`` of ``tested``, accepted between ``lo`` and ``hi`` (None when
    nothing was tested)."""

    tested: int
    dropped: int
    lo: int | None
    hi: int | None
    p_value: float | None
    ok: bool

    @classmethod
    def of(cls, mask, drop_prob, level):
        tested = int(np.count_nonzero(mask.usable))
        dropped = int(np.count_nonzero(mask.dropped))
        if not tested:
            return cls(0, dropped, None, None, None, True)
        lo, hi = accepted_interval(tested, drop_prob, level)
        p_value = float(binomial_p_values(tested, drop_prob)[dropped])
        return cls(tested, dropped, lo, hi, p_value, lo <= dropped <= hi)

    @property
    def fraction(self):
        return self.dropped / self.tested if self.tested else None


def _structure(mask, count, drop_prob, level):
    """((name, p-value), ...) and the failure texts of the structure tests, judged at the drop
    probability; once the count has failed (the check fails anyway), at the observed fraction
    instead, so that a wrong rate is not mistaken for a pattern."""
    structure_p = drop_prob if count.ok else count.fraction
    if not count.tested or not 0.0 < structure_p < 1.0:
        return (), []
    results = structure_tests(mask.dropped, mask.usable, structure_p)
    failures = [text for _, p, text in results if p < level]
    return tuple((name, p) for name, p, _ in results), failures


@dataclass(frozen=True)
class _BadValues:
    """The elements that read neither as 0 nor as kept: how many, and the worst of them (its
    index, the student's value there, None for NaN, and the kept value there)."""

    count: int
    index: tuple | None = None
    value: float | None = None
    kept: float | None = None

    @classmethod
    def of(cls, reading, got, source, factor, shape):
        count = int(np.count_nonzero(reading.bad))
        if not count:
            return cls(0)
        flat = int(np.argmax(reading.excess))
        index = tuple(int(i) for i in np.unravel_index(flat, shape))
        value = float(got.flat[flat]) if np.isfinite(got.flat[flat]) else None
        return cls(count, index, value, float(source.flat[flat] * factor))


@dataclass(frozen=True)
class _Words:
    """How the messages name things: the source, the drop probability, and the course's p."""

    src: str
    drop_prob: float
    course_p: float | None
    p_means: str

    @property
    def kept(self):  # x/(1-p) = x/0.7, or x/p = x/0.7
        return _kept_formula(self.src, self.drop_prob, self.p_means)

    @property
    def factor(self):
        return 1.0 / (1.0 - self.drop_prob)

    @property
    def divide_by_keep(self):
        """The fix for kept units divided by the drop probability, in the course's terms."""
        keep = 1.0 - self.drop_prob
        if self.p_means == "keep":
            who = f"this assignment's p = {keep:g}" if self.course_p is not None else f"p = {keep:g}"
            return (f"divide the kept units by {who}, the probability of KEEPING a unit, not by "
                    f"1 - p = {self.drop_prob:g}")
        return (f"divide the kept units by the keep probability 1 - p = {keep:g}, not by the drop "
                f"probability {self.drop_prob:g}")

    def fits_keep_reading(self, count):
        """Whether the count is a plausible draw at 1-p, and no less plausible than at p: the
        dropped fraction fits p read as the keep probability."""
        flipped = 1.0 - self.drop_prob
        if not count.tested or abs(flipped - self.drop_prob) <= 1e-12:
            return False
        at_flipped = binomial_p_values(count.tested, flipped)[count.dropped]
        return at_flipped >= PLAUSIBLE and at_flipped >= count.p_value

    def normal_form(self, count, scale):
        """The normal mask, (comparison, numeric p, fraction kept), whose scale is ``scale`` and
        whose fraction the failed count plausibly drew; None when none fits."""
        if not count.tested or count.ok:
            return None
        p = self.course_p if self.course_p is not None else (
            self.drop_prob if self.p_means == "drop" else 1.0 - self.drop_prob)
        if not 0.0 < p < 1.0:
            return None
        below = 0.5 * (1.0 + math.erf(p / math.sqrt(2.0)))  # Phi(p): randn < p
        for comparison, kept, form_scale in (("<", below, 1.0 / p), (">", 1.0 - below, 1.0 / (1.0 - p))):
            plausible = binomial_p_values(count.tested, 1.0 - kept)[count.dropped] >= PLAUSIBLE
            if abs(form_scale - scale) <= 1e-9 * scale and plausible:
                return comparison, p, kept
        return None

    def normal_text(self, count, scale):
        comparison, p, kept = self.normal_form(count, scale)
        return (f"{self.count_text(count)}: the dropped fraction matches a mask drawn from a "
                f"normal distribution, np.random.randn(...) {comparison} {p:g}, which keeps "
                f"{kept:.1%} of the units; draw uniform numbers, np.random.rand(...)")

    @property
    def convention(self):
        return _convention(self.drop_prob, self.course_p, self.p_means)

    def count_text(self, count):
        frac = f" ({count.fraction:.1%})" if count.tested else ""
        return (f"dropped {count.dropped} / {count.tested}{frac}, accepted {count.lo}-{count.hi} "
                f"for drop probability {self.drop_prob:g}")

    def count_failure(self, count):
        """The count's failure, as a message says it."""
        if count.dropped in (0, count.tested):
            what = "no unit was dropped" if count.dropped == 0 else "every unit was dropped"
            return f"{self.count_text(count)}: {what}"
        return f"{self.count_text(count)} (binomial p-value {probability_text(count.p_value)})"


def _judgement(words, bad, explained_by, count, failures, size):
    """(diagnosis, message, failures): what the values, the count and the structure together
    say (module docstring, "Diagnoses"); ``failures``, the structure's, with a constant mask's
    added."""
    if bad.count:
        return _values_judgement(words, bad, explained_by, count, failures, size) + (failures,)
    if failures:
        lead = f"{words.count_text(count)}; " if not count.ok else ""
        return "not_random", f"{lead}the mask is not random: {_first(failures)}", failures
    if not count.ok:
        return _count_judgement(words, count, failures)
    if count.tested:
        return None, f"{words.count_text(count)}; values and mask look right", failures
    return None, f"every unit has {words.src} ~ 0 and reads either way: values look right", failures


def _values_judgement(words, bad, explained_by, count, failures, size):
    """Some values are neither 0 nor kept: say which scale explains them, if one does, and what
    else the count and the structure show."""
    kind, scale = explained_by[:2] if explained_by else (None, None)
    diagnosis, message = _scale_judgement(words, kind, scale, count)
    if explained_by is None:
        message = (f"{bad.count} of {size} values are neither 0 nor {words.kept}, e.g. "
                   f"{_value(bad.value)} at {_fmt_index(bad.index)} where "
                   f"{_kept_short(words.src, words.drop_prob)} = {bad.kept:.6g}")
    elif kind is None or kind == "inverse_scaling":  # a constant factor of the student's own
        message = (f"{bad.count} of {size} values are neither 0 nor {words.kept}: the kept "
                   f"values are {scale:.4g} * {words.src}, expected {words.factor:.4g} * {words.src}")
    also = []
    if diagnosis == "normal_draw":
        also.append(words.normal_text(count, scale))
    elif not count.ok:
        also.append(words.count_failure(count))
    if failures:
        diagnosis = "not_random"
        also.append("the mask is not random: " + _first(failures))
    elif kind == "no_scaling" and count.tested and count.dropped == 0 and not count.ok:
        diagnosis = "no_dropout"
    if also:
        message += "; also " + "; ".join(also)
    return diagnosis, message


def _scale_judgement(words, kind, scale, count):
    """(diagnosis, message) for kept values ``source * scale`` where ``kind`` names the scale."""
    src = words.src
    if kind == "no_scaling":
        return "no_scaling", (f"kept values equal {src} instead of {words.kept} = "
                              f"{words.factor:.4g} * {src}: divide the kept units by the keep "
                              f"probability {1.0 - words.drop_prob:g} in train mode (inverted "
                              "dropout)")
    if kind == "inverse_scaling":
        return "inverse_scaling", ""
    if kind != "by_drop":
        return None, ""
    lead = (f"kept values are {src}/{words.drop_prob:g} = {scale:.4g} * {src}, expected "
            f"{words.kept} = {words.factor:.4g} * {src}: ")
    if words.fits_keep_reading(count):
        return "keep_probability", lead + words.convention
    code = "normal_draw" if words.normal_form(count, scale) else "scaled_by_drop"
    return code, lead + words.divide_by_keep


def _count_judgement(words, count, failures):
    """The values are right, the mask has no pattern, but the count failed: nothing or everything
    dropped, or the fraction of the other reading of p, or of a normal mask."""
    if count.dropped in (0, count.tested):
        constant = "no unit was dropped" if count.dropped == 0 else "every unit was dropped"
        code = "no_dropout" if count.dropped == 0 else "all_zero"
        return code, words.count_failure(count), failures + [constant]
    drop_prob = words.drop_prob
    if words.fits_keep_reading(count):
        message = (f"{words.count_text(count)}: the dropped fraction matches the keep probability "
                   f"{1.0 - drop_prob:g}, not the drop probability {drop_prob:g}; "
                   f"{words.convention}")
        if words.p_means == "keep":
            message += f", so drop each unit with probability 1 - p = {drop_prob:g}"
        return "keep_probability", message, failures
    if words.normal_form(count, words.factor):
        return "normal_draw", words.normal_text(count, words.factor), failures
    return None, words.count_failure(count), failures


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
        self.factor, self.rtol, self.atol = factor, rtol, atol
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


def _first(failures):
    """The first failure, and how many more there are (the message is one line)."""
    more = len(failures) - 1
    return failures[0] + (f" (and {more} more finding{'s' if more > 1 else ''})" if more else "")


def _value(value):
    return "nan" if value is None else f"{value:.6g}"


def _fmt_index(index):
    return "(" + ", ".join(str(i) for i in index) + ("," if len(index) == 1 else "") + ")"
