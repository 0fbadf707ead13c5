"""The one tolerance rule, used by the comparison, the dropout checks and the diagnosis.

An element ``got`` matches a reference value ``ref`` when

    |got - ref| <= atol * scale + rtol * |ref|,   scale = max |ref| over the output (1 if all 0),

so one pair of figures fits outputs of any magnitude (DESIGN.md, "Grading semantics"). Like
torch.testing's ``get_tolerances``, a caller gives both tolerances or neither; neither means the
defaults below, whose choice tests/test_compare.py measures (grader/judge/compare.py says why).
"""
import math

import numpy as np

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-5  # in units of the output's scale


def resolve(rtol=None, atol=None):
    """``(rtol, atol)`` as floats: both given, or neither (the defaults); finite and >= 0."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"give both rtol and atol or neither, got rtol={rtol}, atol={atol}")
    if rtol is None:
        return DEFAULT_RTOL, DEFAULT_ATOL
    rtol, atol = float(rtol), float(atol)
    if not (rtol >= 0 and atol >= 0 and math.isfinite(rtol) and math.isfinite(atol)):
        raise ValueError(f"tolerances must be finite and >= 0, got rtol={rtol}, atol={atol}")
    return rtol, atol


def scale_of(abs_ref):
    """The magnitude ``atol`` is measured in: the largest ``|ref|``, or 1 for an all-zero (or
    empty) reference."""
    scale = float(abs_ref.max()) if abs_ref.size else 0.0
    return scale if scale > 0 else 1.0


def allowance(ref, rtol, atol):
    """Per-element allowance of the rule with ``ref`` as the reference values."""
    abs_ref = np.abs(ref)
    return atol * scale_of(abs_ref) + rtol * abs_ref


def within(got, ref, rtol, atol, slack=0.0):
    """Whether every element of ``got`` matches ``ref`` under the rule (plus ``slack``, a scalar or
    an array of ``ref``'s size); arrays of different sizes never match."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.size != ref.size:
        return False
    got = got.reshape(ref.shape)
    if np.ndim(slack):
        slack = np.reshape(slack, ref.shape)
    return bool(np.all(np.abs(got - ref) <= allowance(ref, rtol, atol) + slack))
