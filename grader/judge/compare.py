"""Comparing a deterministic output with its expected value, element by element.

The rule (DESIGN.md, "Grading semantics"): an element passes when

    |got - expected| <= atol_abs + rtol * |expected|,   atol_abs = atol * scale,

where ``scale`` is the output's largest ``|expected|`` (1 if the expected output is all zeros), so
one pair of figures fits outputs of any magnitude. An output passes when every element does.

Why the default figures (grader/judge/tolerance.py, ``DEFAULT_RTOL = DEFAULT_ATOL = 1e-5``) hold, measured on
every deterministic output of the default assignment by tests/test_compare.py (run it as a script,
``python tests/test_compare.py``, to print the table):

- a correct implementation computed in float32 (inputs rounded to float32, every product and partial
  sum rounded to float32; naive loops, im2col with a float32 matmul, or a float32 einsum) and written
  with ``%.9e`` is off by at most 3.4e-7 * scale (conv_backward_out_dw, loop order; every other
  output 1.3e-7 or less);
- the exact values written with ``%.6e`` (7 significant digits) are off by at most 3.7e-7 * scale
  (dropout_forward_out_test: values near 10, rounding of up to 5e-7 * |value|);

while an element may be off by ``atol_abs + rtol*|expected|``, at least 1e-5 * scale: no correct
answer uses more than 2.1% of any element's allowance (a margin of 47). An error of 1e-4 * scale in
any single element exceeds the allowance (at most 2e-5 * scale) five times over and fails. Values
written with 4 significant digits fail on every default output, with 5 on five of the eight, and
with 6 they pass.

Phases, as in torch.testing: :func:`compare` measures and returns a frozen :class:`Comparison`;
the words for it are grader/report/wording.py's, which the terminal, JSON and HTML reports reuse.
Nothing here prints or reads files.

The messages never show an expected value. They show differences and indices with two significant
digits and the absolute allowance ``atol_abs`` (which is ``atol`` times the output's largest
magnitude): too coarse to reconstruct a passing answer from.
"""
from dataclasses import dataclass, fields

import numpy as np

from grader.judge import tolerance

# CS231n's rel_error guards its denominator with this floor.
REL_ERROR_FLOOR = 1e-8


@dataclass(frozen=True)
class Comparison:
    """The measured agreement of one output with its expected value.

    Every float field is finite, so ``asdict`` / :meth:`to_dict` is valid JSON as it stands.
    ``max_rel_err`` is None when the greatest relative difference is unbounded: a nonzero value
    where the expected value is exactly 0 (``max_rel_index`` then says where).
    Indices are N-d tuples of ints in the output's own shape (row-major order).
    """

    passed: bool
    size: int
    mismatches: int
    max_abs_err: float
    max_abs_index: tuple
    max_rel_err: float | None
    max_rel_index: tuple
    rel_error: float  # CS231n: max |x - y| / max(1e-8, |x| + |y|)
    rtol: float
    atol: float  # as given: in units of scale
    atol_abs: float  # atol * scale, the absolute allowance
    scale: float  # max |expected|, or 1 if the expected output is all zeros
    # Partial credit: the share of elements within tolerance, leaving out those that are 0 in both
    # arrays. They carry no evidence: a blank file would otherwise earn most of a sparse output
    # such as max-pool's dx. 1.0 when every element is 0 in both.
    fraction_within: float
    shape: tuple

    def to_dict(self):
        """JSON-ready fields (indices as lists)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: asdict is slow
        data["max_abs_index"] = list(self.max_abs_index)
        data["max_rel_index"] = list(self.max_rel_index)
        data["shape"] = list(self.shape)
        return data


def compare(got, expected, rtol=None, atol=None):
    """Compare ``got`` with ``expected`` element by element; return a :class:`Comparison`.

    Parameters
    ----------
    got, expected : ndarray
        Arrays of the same shape (the output's N-d shape), both finite; cast to float64.
    rtol, atol : float
        Relative tolerance, and absolute tolerance in units of ``scale = max |expected|``. Give
        both or neither (neither: the spec defaults, DEFAULT_RTOL and DEFAULT_ATOL).

    Raises
    ------
    ValueError
        Shapes differ, a tolerance is negative or only one is given, or an array holds NaN or Inf
        (the reader refuses those with the ``nonfinite`` diagnosis before anything is compared).
    """
    rtol, atol = tolerance.resolve(rtol, atol)
    got, expected = _finite_pair(got, expected)

    shape = got.shape
    size = got.size
    if size == 0:
        return Comparison(True, 0, 0, 0.0, (), 0.0, (), 0.0, rtol, atol, 0.0, 1.0, 1.0, shape)

    abs_expected = np.abs(expected)
    scale = tolerance.scale_of(abs_expected)
    atol_abs = atol * scale

    with np.errstate(over="ignore"):  # 1.7e308 - (-1e308) overflows: capped, so figures stay finite
        abs_diff = np.abs(got - expected)
    np.minimum(abs_diff, np.finfo(np.float64).max, out=abs_diff)
    within = abs_diff <= atol_abs + rtol * abs_expected
    mismatches = int(size - np.count_nonzero(within))

    abs_flat = int(np.argmax(abs_diff))
    max_abs_err = float(abs_diff.flat[abs_flat])

    zero_expected = abs_expected == 0
    rel_flat, max_rel_err = _greatest_relative(abs_diff, abs_expected, zero_expected)
    rel_error = float(np.max(abs_diff / np.maximum(REL_ERROR_FLOOR, np.abs(got) + abs_expected)))

    informative = ~(zero_expected & (got == 0))
    informative_count = int(np.count_nonzero(informative))
    fraction_within = (np.count_nonzero(within & informative) / informative_count
                       if informative_count else 1.0)

    return Comparison(
        passed=mismatches == 0,
        size=int(size),
        mismatches=mismatches,
        max_abs_err=max_abs_err,
        max_abs_index=_index(abs_flat, shape),
        max_rel_err=max_rel_err,
        max_rel_index=_index(rel_flat, shape),
        rel_error=rel_error,
        rtol=rtol,
        atol=atol,
        atol_abs=atol_abs,
        scale=scale,
        fraction_within=fraction_within,
        shape=shape,
    )


def _finite_pair(got, expected):
    """Both arrays as float64, checked to have one shape and finite values."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise ValueError(f"shapes differ: got {got.shape}, expected {expected.shape}")
    for name, array in (("got", got), ("expected", expected)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds NaN or Inf; only finite arrays can be compared")
    return got, expected


def _greatest_relative(abs_diff, abs_expected, zero_expected):
    """(flat index, value) of the greatest relative difference |got - expected| / |expected|: 0
    where both are 0, unbounded (value None) where only expected is 0. Computed without dividing
    by zero."""
    with np.errstate(over="ignore"):  # 1e308 / 1e-3: capped below, so every figure stays finite
        rel = np.divide(abs_diff, abs_expected, out=np.zeros_like(abs_diff), where=~zero_expected)
    np.minimum(rel, np.finfo(np.float64).max, out=rel)
    unbounded = zero_expected & (abs_diff > 0)
    if unbounded.any():
        return int(np.argmax(unbounded)), None
    rel_flat = int(np.argmax(rel))
    return rel_flat, float(rel.flat[rel_flat])


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape))
