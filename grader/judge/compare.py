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
        data = {name: getattr(self, name) for name in _COMPARISON_FIELDS}  # asdict is slow
        data["max_abs_index"] = list(self.max_abs_index)
        data["max_rel_index"] = list(self.max_rel_index)
        data["shape"] = list(self.shape)
        return data

    @classmethod
    def from_dict(cls, data):
        """The Comparison whose :meth:`to_dict` is among ``data`` (a check's details, which hold
        other keys too): indices and shape as tuples; a ``scale`` withheld (absent) is None."""
        values = {name: data.get(name) for name in _COMPARISON_FIELDS}
        for name in ("max_abs_index", "max_rel_index", "shape"):
            values[name] = tuple(values[name])
        return cls(**values)


_COMPARISON_FIELDS = tuple(f.name for f in fields(Comparison))


@dataclass(frozen=True, eq=False)
class ExpectedValues:
    """An expected output prepared for comparison: its values and the constants of the rule that
    depend on them alone (``scale``, ``|expected|``, the allowance, where it is 0), computed once.

    A class compares each expected output once per student; :meth:`of` does the work that does not
    depend on the student, so that :func:`compare` only measures ``got``. Arrays are flat (row-major)
    and read-only; ``shape`` is the output's.
    """

    shape: tuple
    values: np.ndarray
    abs_values: np.ndarray
    allowance: np.ndarray  # atol_abs + rtol * |expected|: the rule's bound, element by element
    divisor: np.ndarray  # |expected|, with 1 where it is 0 (the relative difference is 0 there)
    zero_index: np.ndarray  # flat indices where expected is 0
    rtol: float
    atol: float
    atol_abs: float
    scale: float

    @classmethod
    def of(cls, expected, rtol=None, atol=None):
        """Prepare ``expected`` (finite; cast to float64) for comparisons at ``rtol`` and ``atol``
        (both or neither, as :func:`compare` takes them)."""
        rtol, atol = tolerance.resolve(rtol, atol)
        return cls._prepared(np.asarray(expected, dtype=np.float64), rtol, atol)

    @classmethod
    def _prepared(cls, expected, rtol, atol):
        if np.count_nonzero(np.isfinite(expected)) != expected.size:
            raise ValueError("expected holds NaN or Inf; only finite arrays can be compared")
        values = np.array(expected, dtype=np.float64).ravel()  # a copy: the caller keeps its own
        abs_values = np.abs(values)
        scale = tolerance.scale_of(abs_values)
        atol_abs = atol * scale if values.size else 0.0
        zero = abs_values == 0
        arrays = {"values": values, "abs_values": abs_values,
                  "allowance": atol_abs + rtol * abs_values,
                  "divisor": np.where(zero, 1.0, abs_values), "zero_index": np.flatnonzero(zero)}
        for array in arrays.values():
            array.flags.writeable = False
        return cls(shape=expected.shape, rtol=rtol, atol=atol, atol_abs=atol_abs, scale=scale,
                   **arrays)


def compare(got, expected, rtol=None, atol=None):
    """Compare ``got`` with ``expected`` element by element; return a :class:`Comparison`.

    Parameters
    ----------
    got : ndarray
        The array to judge, of the expected output's N-d shape, finite; cast to float64.
    expected : ndarray or ExpectedValues
        The expected array (same shape, finite), or one prepared by :meth:`ExpectedValues.of`,
        which carries its tolerances (then give neither ``rtol`` nor ``atol``).
    rtol, atol : float
        Relative tolerance, and absolute tolerance in units of ``scale = max |expected|``. Give
        both or neither (neither: the spec defaults, DEFAULT_RTOL and DEFAULT_ATOL).

    Raises
    ------
    ValueError
        Shapes differ, a tolerance is negative or only one is given, or an array holds NaN or Inf
        (the reader refuses those with the ``nonfinite`` diagnosis before anything is compared).
    """
    if isinstance(expected, ExpectedValues):
        if rtol is not None or atol is not None:
            raise ValueError("prepared expected values carry their own tolerances; give neither "
                             f"rtol nor atol, got rtol={rtol}, atol={atol}")
        got = _finite_got(got, expected.shape)
        prepared = expected
    else:
        rtol, atol = tolerance.resolve(rtol, atol)
        expected = np.asarray(expected, dtype=np.float64)
        got = _finite_got(got, expected.shape)
        prepared = ExpectedValues._prepared(expected, rtol, atol)
    return _measure(got.ravel(), prepared)


def _measure(got, e):
    """The Comparison of flat ``got`` with prepared ``e``: a few whole-array operations, each
    figure read from them (the shared constants come from ``e``)."""
    shape, size = e.shape, e.values.size
    if size == 0:
        return Comparison(True, 0, 0, 0.0, (), 0.0, (), 0.0, e.rtol, e.atol, 0.0, 1.0, 1.0, shape)
    with np.errstate(over="ignore"):  # 1.7e308 - (-1e308) overflows: capped, so figures stay finite
        abs_diff = np.subtract(got, e.values)
        np.abs(abs_diff, out=abs_diff)
        abs_flat = int(abs_diff.argmax())
        if abs_diff[abs_flat] == np.inf:
            np.minimum(abs_diff, _FLOAT_MAX, out=abs_diff)
            abs_flat = int(abs_diff.argmax())
        within = abs_diff <= e.allowance
        within_count = int(np.count_nonzero(within))
        rel_flat, max_rel_err = _greatest_relative(abs_diff, e)
        abs_got = np.abs(got)
        rel_error = abs_diff / np.maximum(REL_ERROR_FLOOR, np.add(abs_got, e.abs_values, out=abs_got))
    mismatches = size - within_count
    # Elements 0 in both arrays are within tolerance and carry no evidence (Comparison).
    both_zero = e.zero_index.size - int(np.count_nonzero(got[e.zero_index]))
    informative = size - both_zero
    return Comparison(
        passed=mismatches == 0,
        size=size,
        mismatches=mismatches,
        max_abs_err=float(abs_diff[abs_flat]),
        max_abs_index=_index(abs_flat, shape),
        max_rel_err=max_rel_err,
        max_rel_index=_index(rel_flat, shape),
        rel_error=float(rel_error[rel_error.argmax()]),
        rtol=e.rtol,
        atol=e.atol,
        atol_abs=e.atol_abs,
        scale=e.scale,
        fraction_within=(within_count - both_zero) / informative if informative else 1.0,
        shape=shape,
    )


_FLOAT_MAX = np.finfo(np.float64).max


def _finite_got(got, shape):
    """``got`` as float64, checked to have ``shape`` and finite values."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != shape:
        raise ValueError(f"shapes differ: got {got.shape}, expected {shape}")
    if np.count_nonzero(np.isfinite(got)) != got.size:
        raise ValueError("got holds NaN or Inf; only finite arrays can be compared")
    return got


def _greatest_relative(abs_diff, e):
    """(flat index, value) of the greatest relative difference |got - expected| / |expected|: 0
    where both are 0, unbounded (value None) where only expected is 0 (the first such element)."""
    if e.zero_index.size:
        unbounded = np.flatnonzero(abs_diff[e.zero_index])
        if unbounded.size:
            return int(e.zero_index[unbounded[0]]), None
    # Where expected is 0 so is the difference here, and the divisor 1 gives the 0 wanted.
    rel = np.divide(abs_diff, e.divisor)
    rel_flat = int(rel.argmax())
    if rel[rel_flat] == np.inf:  # 1e308 / 1e-3: capped, so every figure stays finite
        np.minimum(rel, _FLOAT_MAX, out=rel)
        rel_flat = int(rel.argmax())
    return rel_flat, float(rel[rel_flat])


def _index(flat, shape):
    """The N-d index (a tuple of ints) of flat position ``flat`` in ``shape``, row-major."""
    index = []
    for n in reversed(shape):
        flat, i = divmod(flat, n)
        index.append(i)
    return tuple(reversed(index))
