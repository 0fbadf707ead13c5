"""Sentences about a comparison, for people: the one-line verdict of a check and the
torch.testing-style figures behind it. The terminal, the JSON and the pages all use these."""


def describe_comparison(comparison):
    """The multi-line report, torch.testing style; never shows an expected value.

    ::

        Mismatched elements: 12 / 4096 (0.3%)
        Greatest absolute difference: 3.1e-04 at index (0, 2, 5, 5) (up to 1.2e-05 allowed)
        Greatest relative difference: 2.0e-02 at index (1, 0, 3, 3) (up to 1e-05 allowed)
        rel_error (CS231n): 2.3e-03
    """
    c = comparison
    if c.size == 0:
        return "Mismatched elements: 0 / 0 (an empty output)"
    return "\n".join([
        f"Mismatched elements: {c.mismatches} / {c.size} ({fraction_text(c.mismatches, c.size)})",
        f"Greatest absolute difference: {_diff(c.max_abs_err)} at index {_fmt_index(c.max_abs_index)} "
        f"(up to {_allowed(c.atol_abs)} allowed)",
        f"Greatest relative difference: {_diff(c.max_rel_err)} at index {_fmt_index(c.max_rel_index)} "
        f"(up to {_allowed(c.rtol)} allowed)",
        f"rel_error (CS231n): {_diff(c.rel_error)}",
    ])


def summarise_comparison(comparison):
    """One line for terminal tables, e.g. ``12 / 4096 elements differ; worst 3.1e-04 at (0, 2, 5, 5)``."""
    c = comparison
    worst = f"worst {_diff(c.max_abs_err)} at {_fmt_index(c.max_abs_index)}"
    if c.passed:
        if c.max_abs_err == 0:
            return f"all {c.size} elements match exactly"
        return f"all {c.size} elements within tolerance; largest difference {_diff(c.max_abs_err)}"
    return f"{c.mismatches} / {c.size} elements differ; {worst}"


def _fmt_index(index):
    return "(" + ", ".join(str(i) for i in index) + ("," if len(index) == 1 else "") + ")"


def _diff(value):
    """A difference with two significant digits; None means unbounded."""
    if value is None:
        return "inf"
    return "0" if value == 0 else f"{value:.1e}"


def _allowed(value):
    return "0" if value == 0 else f"{value:.2g}"


def fraction_text(part, whole):
    """``part / whole`` as torch.testing words it: never 0.0% for one element, never 100.0% short of all."""
    fraction = part / whole
    if 0 < fraction < 0.001:
        return "<0.1%"
    if 0.999 < fraction < 1:
        return ">99.9%"
    return f"{fraction:.1%}"
