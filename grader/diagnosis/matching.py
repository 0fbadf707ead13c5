"""Whether a student's values match a mistake's variant: the rule of grader/judge/tolerance.py
with the variant as the reference, widened by the rounding of the digits the student printed, and
the rules of scaled and judged variants. A dropout train output is matched by asking
grader/judge/dropout.py, the one engine that decides dropout mistakes with exact statistics.
"""
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from grader.assignment import ops
from grader.judge.dropout import check_dropout_train
from grader.judge.tolerance import allowance, within


# Printed precision: the most significant digits or decimals a value can be checked against.
_MAX_DIGITS = 15


def round_significant(values, digits):
    """``values`` rounded to ``digits`` significant digits (as '%.{digits-1}e' prints them)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(np.abs(values)))
        exponent = np.where(np.isfinite(exponent), exponent, 0.0)
        factor = 10.0 ** (digits - 1 - exponent)
        rounded = np.round(values * factor) / factor
    return np.where(values == 0, 0.0, rounded)


@dataclass(frozen=True)
class Precision:
    """The digits a student's values carry, read from the values themselves: the fewest
    ``significant`` digits and the fewest ``decimals`` that write every value exactly (None: more
    than we can tell), and the rounding ``slack`` that allows each element."""

    significant: int | None
    decimals: int | None
    slack: np.ndarray
    digits_at_decimals: int | None = None  # significant digits of the largest value at ``decimals``

    def describe(self):
        """'4 significant digits' or '3 decimal places' when the values carry fewer digits than a
        correct answer needs (7 significant digits always pass), else None."""
        if self.decimals is not None and self.digits_at_decimals is not None \
                and self.digits_at_decimals <= 6 \
                and (self.significant is None or self.digits_at_decimals <= self.significant):
            return f"{self.decimals} decimal place{'s' if self.decimals != 1 else ''}"
        if self.significant is not None and self.significant <= 6:
            return f"{self.significant} significant digit{'s' if self.significant != 1 else ''}"
        return None

    @property
    def coarse(self):
        return self.describe() is not None


def printed_precision(values):
    """The :class:`Precision` of ``values`` as read from a student's file."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    nonzero = flat[flat != 0]
    slack = np.zeros_like(flat)
    if nonzero.size == 0:
        return Precision(None, None, slack)
    significant = _fewest(lambda k: round_significant(nonzero, k), nonzero, 1)
    decimals = _fewest(lambda d: np.round(flat, d), flat, 0)
    if significant is not None:
        with np.errstate(divide="ignore"):
            exponent = np.nan_to_num(np.floor(np.log10(np.abs(flat))), neginf=0.0)
        unit = np.where(flat != 0, 10.0 ** (exponent + 1 - significant), 0.0)
        slack = np.maximum(slack, 0.5 * unit * (1 + 1e-9))
    digits_at_decimals = None
    if decimals is not None:
        slack = np.maximum(slack, 0.5 * 10.0 ** -decimals * (1 + 1e-9))
        digits_at_decimals = decimals + int(math.floor(math.log10(float(np.abs(nonzero).max())))) + 1
    return Precision(significant, decimals, slack, digits_at_decimals)


def _fewest(rounded, values, low):
    """The smallest digits count in ``low..15`` at which ``rounded(digits)`` leaves ``values``
    unchanged (to a few ulps), or None; a binary search, as more digits never change more."""
    def exact(digits):
        return bool(np.all(np.abs(rounded(digits) - values) <= 1e-13 * np.abs(values)))

    if not exact(_MAX_DIGITS):
        return None
    high = _MAX_DIGITS
    while low < high:
        middle = (low + high) // 2
        if exact(middle):
            high = middle
        else:
            low = middle + 1
    return high


def matches(variant, got, rtol, atol, slack=0.0):
    """Whether ``got`` (any shape, the variant's count) is what ``variant``'s mistake gives."""
    got = np.asarray(got, dtype=np.float64)
    if got.size != variant.size:
        return False
    if variant.kind == "array":
        return within(got, variant.values, rtol, atol, slack)
    if variant.kind == "overlap":
        return _overlap_matches(variant, got, rtol, atol, slack)
    if variant.kind == "count":
        return False
    return _RULES[variant.rule[0]](variant, got.reshape(variant.shape), rtol, atol, slack)


def _overlap_matches(variant, got, rtol, atol, slack):
    role, layout = variant.rule
    mine = ops.to_nchw(role, got.reshape(variant.shape), layout)
    theirs = ops.to_nchw(role, variant.values, layout)
    h = min(mine.shape[2], theirs.shape[2])
    w = min(mine.shape[3], theirs.shape[3])
    if np.ndim(slack):
        slack = ops.to_nchw(role, np.reshape(slack, variant.shape), layout)[:, :, :h, :w]
    return within(mine[:, :, :h, :w], theirs[:, :, :h, :w], rtol, atol, slack)


def _rule_scaled(variant, got, rtol, atol, slack):
    """Every nonzero element is ``factor * source``; ``zeros``: 'none', 'some' or 'any'."""
    _, source, factor, zeros = variant.rule
    kept = got != 0
    if zeros == "none" and not kept.all():
        return False
    if zeros == "some" and kept.all():
        return False
    if not kept.any():
        return False
    ref = factor * source
    slack = np.broadcast_to(slack, got.shape)
    allowed = allowance(ref, rtol, atol) + slack
    return bool(np.all(np.abs(got - ref)[kept] <= allowed[kept]))


@dataclass(frozen=True, eq=False)
class Judged:
    """A dropout train output as grader/judge/dropout.py judges it, the rule of a mistake's
    variant: ``expect`` is the diagnosis the judge gives (or "pass"); the values are read in
    ``order`` ("C", or "F": written in column-major order) and judged as dropout applied to
    ``source`` (named ``source_name``: another input than the right one, for the gradient taken
    from x). ``kept_scale`` (the kept values are ``source`` times it) and ``pattern`` ("rows":
    every row the same mask, "columns", "block": the dropped units first in row-major order)
    narrow the variant to one form of its mistake, for the sentence that names it."""

    expect: str
    source: np.ndarray
    source_name: str
    drop_prob: float
    course_p: float | None = None
    p_means: str = "drop"
    kept_scale: float | None = None
    pattern: str | None = None
    order: str = "C"


def _rule_judged(variant, got, rtol, atol, slack):
    judged = variant.rule[1]
    values = got if judged.order == "C" else got.ravel().reshape(got.shape, order="F")
    verdict = judge(values, judged, rtol, atol)
    if judged.expect == "pass":
        found = verdict.passed and (judged.order == "C" or not judge(got, judged, rtol, atol).passed)
    else:
        found = verdict.diagnosis == judged.expect
    if found and judged.kept_scale is not None:
        found = verdict.kept_scale is not None and math.isclose(verdict.kept_scale,
                                                                judged.kept_scale, rel_tol=1e-9)
    return found and (judged.pattern is None or _pattern_holds(got, judged.pattern))


def judge(values, judged, rtol, atol):
    """The DropoutVerdict of ``values`` under ``judged``'s reading; the few verdicts of the output
    being diagnosed are kept, as its variants ask about the same values."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    source = np.ascontiguousarray(judged.source, dtype=np.float64)
    return _cached_verdict(values.tobytes(), values.shape, source.tobytes(), judged.source_name,
                           judged.drop_prob, judged.course_p, judged.p_means, rtol, atol)


@lru_cache(maxsize=64)
def _cached_verdict(values, shape, source, source_name, drop_prob, course_p, p_means, rtol, atol):
    return check_dropout_train(np.frombuffer(values).reshape(shape),
                               np.frombuffer(source).reshape(shape), drop_prob, rtol, atol,
                               source_name=source_name, course_p=course_p, p_means=p_means)


def _pattern_holds(got, pattern):
    """Whether the zeros of ``got`` have exactly ``pattern``: 'rows' (every row the same mask),
    'columns' (every column), or 'block' (all dropped units at the start or end, row-major)."""
    dropped = (got if got.ndim == 2 else got.reshape(got.shape[0], -1)) == 0
    if pattern == "rows":
        return dropped.shape[0] > 1 and bool((dropped == dropped[:1]).all())
    if pattern == "columns":
        return dropped.shape[1] > 1 and bool((dropped == dropped[:, :1]).all())
    flat = dropped.ravel()
    return int(np.count_nonzero(flat[1:] != flat[:-1])) == 1


def _rule_fortran_scaled(variant, got, rtol, atol, slack):
    """Read back in column-major order, a correct dropout output of ``source`` (kept values
    ``factor * source``); read in C order, not one."""
    _, source, factor = variant.rule
    judged = Judged("pass", source, "x", 1.0 - 1.0 / factor, order="F")
    return _rule_judged(replace(variant, rule=("judged", judged)), got, rtol, atol, slack)


_RULES = {"scaled": _rule_scaled, "fortran_scaled": _rule_fortran_scaled, "judged": _rule_judged}
