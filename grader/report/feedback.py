"""The student's feedback page: one row per output with its verdict, the likely mistake and the
figures behind it (never an expected value unless an instructor asks)."""

from grader.report.course import build_grade_panel
from grader.report.wording import fraction_text
from grader.results import STATUSES, percent
from grader.report.views import STATUS_LABELS, Detail, FeedbackPage, OutputRow, ProblemGroup, StatusCount, fmt_index, is_number, pct, points, sci


# --------------------------------------------------------------------------- details of a check

def check_details(check, show_expected=False):
    """The figures behind one check's verdict, from its typed fields, as Detail rows.

    Deterministic outputs: mismatched elements, the greatest absolute and relative differences with
    their N-d index and the allowance, and CS231n's rel_error. Dropout train outputs: the dropped
    fraction, the accepted interval and its binomial p-value, the mask-structure verdict and the
    probability that a correct implementation fails the check. Only what is present is shown.
    """
    items = []
    if check.dropout is not None:
        items.extend(_dropout_details(check.dropout, check.size))
    elif check.status in ("pass", "fail"):
        items.extend(_comparison_details(check))
    if show_expected and check.expected_at_worst is not None:
        items.append(Detail("expected at worst", _plain(check.expected_at_worst)))
    return tuple(items)


def _comparison_details(check):
    c = check.comparison
    mismatches, size = check.mismatches, check.size
    if is_number(mismatches) and is_number(size) and size:
        yield Detail("Mismatched elements", f"{mismatches} / {size} ({fraction_text(mismatches, size)})")
    if is_number(check.max_abs_err):
        text = sci(check.max_abs_err)
        if c is not None:
            text += f" at index {fmt_index(c.max_abs_index)} (up to {c.atol_abs:.2g} allowed)"
        yield Detail("Greatest absolute difference", text)
    if c is None:
        return
    text = sci(c.max_rel_err) if is_number(c.max_rel_err) else "unbounded (nonzero where 0 was expected)"
    yield Detail("Greatest relative difference",
                 f"{text} at index {fmt_index(c.max_rel_index)} (up to {c.rtol:.2g} allowed)")
    yield Detail("rel_error (CS231n)", sci(c.rel_error))
    if 0 < check.score < check.max_score:
        yield Detail("Partial credit",
                     f"{c.fraction_within:.1%} of the elements within tolerance "
                     "(not counting those 0 in both): "
                     f"{points(check.score)} of {points(check.max_score)} points")


def _dropout_details(v, size):
    p = v.expected_fraction
    if v.tested:
        text = f"{v.dropped} of {v.tested} units ({v.dropped / v.tested:.1%}); drop probability {p:g}"
        if v.ambiguous:
            text += f" ({v.ambiguous} units that read either way not counted)"
        yield Detail("Dropped", text)
    elif v.observed_fraction is not None:
        yield Detail("Dropped fraction", f"{v.observed_fraction:.1%}; drop probability {p:g}")
    if v.accepted_interval is not None:
        lo, hi = v.accepted_interval
        text = f"{lo} to {hi} dropped"
        if v.accepted_fractions is not None:
            text += f" ({v.accepted_fractions[0]:.1%} to {v.accepted_fractions[1]:.1%})"
        yield Detail("Accepted", text)
    if v.p_value is not None:
        yield Detail("Binomial p-value (two-sided, exact)", _prob(v.p_value))
    if v.bad_values:
        kept = f"{v.source_name or 'x'}/{1 - p:g}"
        text = f"{v.bad_values} of {size if is_number(size) else '?'} elements are neither 0 nor {kept}"
        if v.worst_bad_index is not None:
            text += f"; e.g. at index {fmt_index(v.worst_bad_index)}"
            if v.worst_bad_value is not None and v.worst_bad_kept is not None:
                # the student's own value, and one computed from an input they were given
                text += f": {v.worst_bad_value:.6g} where {kept} = {v.worst_bad_kept:.6g}"
        yield Detail("Values", text)
    if v.structure_failures:
        yield Detail("Mask structure", "; ".join(str(f) for f in v.structure_failures))
    elif v.structure_tests:
        yield Detail("Mask structure", "rows, columns, 2x2 blocks, runs and ends show no pattern")
    yield Detail("False alarms",
                 f"a correct implementation fails this check with probability <= {v.alpha:g}")


def _prob(value):
    value = float(value)
    return "1" if value >= 1 else ("<1e-300" if value <= 0 else f"{value:.2g}")


def _plain(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- building: feedback

TOLERANCE_RULE = ("A value passes when |got \u2212 expected| \u2264 atol \u00b7 scale + rtol \u00b7 "
                  "|expected|, where scale is the output's largest |expected| value; an output "
                  "passes when all its values do.")


def build_feedback(result, assignment, generated_at, show_expected=False):
    """The FeedbackPage for one SubmissionResult."""
    numbers = {o.file: i for i, o in enumerate(assignment.outputs, start=1)}
    rows_by_problem = {}
    for check in result.checks:
        message, explained = check.message, _likely_cause(check)
        row = OutputRow(
            number=numbers.get(check.output, 0),
            output=check.output,
            problem=check.problem,
            status=check.status,
            status_label=STATUS_LABELS.get(check.status, check.status),
            score="\u2013" if check.status == "unchecked" or not result.graded
            else f"{points(check.score)} / {points(check.max_score)}",
            message=message,
            diagnosis=check.diagnosis_code,
            explanation=explained,
            details=check_details(check, show_expected),
            open=check.status != "pass",
        )
        rows_by_problem.setdefault(check.problem, []).append(row)
    problems = tuple(ProblemGroup(name, tuple(rows)) for name, rows in rows_by_problem.items())
    counts = [StatusCount(s, STATUS_LABELS[s], sum(c.status == s for c in result.checks))
              for s in STATUSES]
    score = result.final.score if result.final is not None else result.score  # after the course's
    return FeedbackPage(
        id=result.id,
        assignment=assignment.name,
        generated_at=generated_at,
        score=points(score) if result.graded else "\u2013",  # ungraded: no zero shown
        max_score=points(result.max_score),
        percent=pct(percent(score, result.max_score)) if result.graded else "\u2013",
        percent_value=round(max(0.0, min(100.0, percent(score, result.max_score))), 2),
        full_marks=result.full_marks and result.checked_expected and bool(result.max_score),
        status_counts=tuple(c for c in counts if c.count),
        problems=problems,
        notes=tuple(str(n) for n in result.notes),
        error=result.error,
        checked_expected=result.checked_expected,
        unchecked=sum(c.status == "unchecked" for c in result.checks),
        show_expected=show_expected,
        tolerance_rule=TOLERANCE_RULE,
        grade=build_grade_panel(result),
    )


def _likely_cause(check):
    """The diagnosis's own sentence, else the catalogue's when the message does not say it already."""
    found = check.diagnosis
    if found is None:
        return None
    if found.message:
        return found.message
    if found.explanation and found.explanation not in check.message:
        return found.explanation
    return None
