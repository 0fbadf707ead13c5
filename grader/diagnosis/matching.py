"""Whether a student's values match a mistake's variant: the rule of grader/judge/tolerance.py
with the variant as the reference, widened by the rounding of the digits the student printed, and
the special rules of scaled, swapped and patterned variants.
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from grader.assignment import ops
from grader.judge.tolerance import allowance, within
from grader.diagnosis.cases import CHANCE, Z_CHANCE


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


def _rule_swapped_fraction(variant, got, rtol, atol, slack):
    """Kept units correctly scaled, but the dropped fraction is that of the keep probability."""
    _, source, drop_prob = variant.rule
    if not _rule_scaled(replace(variant, rule=("scaled", source, 1 / (1 - drop_prob), "any")),
                        got, rtol, atol, slack):
        return False
    n = got.size
    dropped = int(np.count_nonzero(got == 0))
    spread = math.sqrt(n * drop_prob * (1 - drop_prob)) or 1.0
    z_right = (dropped - n * drop_prob) / spread
    z_swapped = (dropped - n * (1 - drop_prob)) / spread
    return abs(z_right) > Z_CHANCE and abs(z_swapped) < abs(z_right) and abs(z_swapped) <= Z_CHANCE


def _rule_mask_pattern(variant, got, rtol, atol, slack):
    """A dropout mask with an obvious pattern: ``pattern`` 'rows' (every row the same mask),
    'columns', or 'block' (the dropped units all at the start or end, in row-major order)."""
    _, pattern = variant.rule
    if got.ndim != 2:
        got = got.reshape(got.shape[0], -1)
    dropped = got == 0
    if dropped.all() or not dropped.any():
        return False
    q = float(np.count_nonzero(dropped)) / dropped.size  # the student's own drop rate
    rows, cols = dropped.shape
    if pattern == "rows":  # every column all dropped or all kept
        chance = (q ** rows + (1 - q) ** rows) ** cols
        return rows > 1 and chance <= CHANCE and bool((dropped == dropped[:1]).all())
    if pattern == "columns":
        chance = (q ** cols + (1 - q) ** cols) ** rows
        return cols > 1 and chance <= CHANCE and bool((dropped == dropped[:, :1]).all())
    flat = dropped.ravel()
    n = flat.size
    k = np.arange(1, n)
    chance = float(np.sum(q ** k * (1 - q) ** (n - k) + (1 - q) ** k * q ** (n - k)))
    return chance <= CHANCE and np.count_nonzero(flat[1:] != flat[:-1]) == 1


def _rule_fortran_scaled(variant, got, rtol, atol, slack):
    """Read back in column-major order, every element is 0 or ``factor * source`` (some kept);
    read in C order, it is not."""
    _, source, factor = variant.rule
    right = replace(variant, rule=("scaled", source, factor, "any"))
    if _rule_scaled(right, got, rtol, atol, slack):
        return False
    back = got.ravel().reshape(got.shape, order="F")
    if np.ndim(slack):
        slack = np.reshape(slack, -1).reshape(got.shape, order="F")
    return _rule_scaled(right, back, rtol, atol, slack)


_RULES = {"scaled": _rule_scaled, "fortran_scaled": _rule_fortran_scaled, "swapped_fraction": _rule_swapped_fraction,
          "mask_pattern": _rule_mask_pattern}
