"""Can the fixed inputs catch each catalogued mistake at all? (`cnngrade inputs --audit`)

For every output and every mistake of grader/diagnosis/'s catalogue that applies to it, the
mistake's variants are computed on the inputs and graded exactly as a student's file would be: a
deterministic output by grader/judge/compare.py against the reference's output, a dropout train output by
grader/judge/dropout.py. A mistake is *caught* when every variant of it fails (a different count
of values counts as failing, and so does code that cannot run with the mistake: its windows do
not fit the arrays), *not caught* when some variant passes (the reason says why: a
symmetric kernel cannot reveal a flipped one, a zero bias a missing one, a monotonic input cannot
tell max-pooling from taking the last element of each window), and *not applicable* when the
assignment's parameters rule it out (non-overlapping windows cannot lose an overlap).

Instructors run it once per term after changing the spec: an input that cannot catch a mistake
gives full marks to every student who makes it.
"""
from dataclasses import dataclass

import numpy as np

from reference.shapes import as_pair, pool_output_shape
from reference.windows import window_view

from grader.assignment import ops
from grader.judge.compare import compare
from grader.diagnosis.cases import Inapplicable, Unrunnable
from grader.diagnosis.diagnoser import make_case, variants_for
from grader.diagnosis.matching import round_significant
from grader.judge.dropout import check_dropout_train
from grader.assignment.generate import compute_expected

STATUSES = ("caught", "not caught", "not applicable")

# The low_precision row: how many significant digits the audit tries (7 must always pass).
_DIGITS_TRIED = range(1, 8)


@dataclass(frozen=True)
class AuditRow:
    """One mistake on one output: ``status`` is 'caught', 'not caught' or 'not applicable'."""

    output: str  # the output's file name, without .csv
    code: str  # a diagnosis code of the catalogue
    status: str
    reason: str


def audit_inputs(assignment, inputs):
    """One :class:`AuditRow` per output and catalogued mistake that applies to it, in the spec's
    order of outputs and the catalogue's order of mistakes.

    ``inputs`` maps input file names (without .csv) to arrays in the file layout, as
    grader.assignment.generate.make_inputs or read_inputs give them.
    """
    expected = compute_expected(assignment, inputs)
    rows = []
    for output in assignment.outputs:
        case = make_case(assignment, output, inputs, expected.get(output.file))
        for mistake, found in variants_for(case, include_audit_only=True):
            if isinstance(found, Inapplicable):
                rows.append(AuditRow(output.file, mistake.code, "not applicable", found.reason))
            elif isinstance(found, Unrunnable):
                rows.append(AuditRow(output.file, mistake.code, "caught",
                                     f"code with this mistake cannot run: {found.reason}"))
            elif mistake.code == "low_precision":
                rows.append(_low_precision_row(case))
            else:
                rows.append(_judge(case, mistake.code, found))
    return rows


def _judge(case, code, variants):
    """Caught when every variant fails grading; the reason gives the narrowest margin."""
    if not variants:
        return AuditRow(case.output.file, code, "not applicable", "it has no form on this output")
    verdicts = [_verdict(case, v) for v in variants]
    missed = [(v, why) for v, (caught, _, why) in zip(variants, verdicts) if not caught]
    if missed:
        variant, why = missed[0]
        reason = variant.uncaught or "on these inputs it gives the right values within tolerance"
        if len(variants) > 1:
            reason = f"{len(missed)} of its {len(variants)} forms pass: {reason}"
        return AuditRow(case.output.file, code, "not caught", reason)
    weakest = min(verdicts, key=lambda v: v[1])
    return AuditRow(case.output.file, code, "caught", weakest[2])


def _verdict(case, variant):
    """(caught, margin, reason) for one variant: margin orders the reasons (smaller: closer call)."""
    output = case.output
    if variant.size != output.size:
        return True, 2.0, f"a different count ({variant.size} values instead of {output.size})"
    values = np.asarray(variant.values, dtype=np.float64).reshape(output.shape)
    if output.statistical:
        source = case.inputs[case.source_role]
        verdict = check_dropout_train(values, source, case.drop_prob, output.rtol, output.atol,
                                      source_name=case.source_role)
        if verdict.passed:
            return False, 0.0, verdict.message
        return True, 1.5, f"fails the dropout check ({verdict.message})"
    comparison = compare(values, case.expected, output.rtol, output.atol)
    if comparison.passed:
        return False, 0.0, comparison.mismatches
    fraction = comparison.mismatches / comparison.size
    return True, fraction, f"{comparison.mismatches} of {comparison.size} values differ"


def _low_precision_row(case):
    """Caught when the right values written with 4 significant digits fail; the reason says
    from how many digits on they pass."""
    output = case.output
    failing = [k for k in _DIGITS_TRIED
               if not compare(round_significant(case.expected, k), case.expected,
                              output.rtol, output.atol).passed]
    most = max(failing, default=0)
    if most >= 4:
        status = "caught"
        reason = (f"values written with {most} significant digits or fewer fail; with {most + 1} "
                  "they pass")
    elif most == 0:
        status = "not caught"
        reason = "even 1 significant digit is within this output's tolerance"
    else:
        status = "not caught"
        reason = (f"4 significant digits are within this output's tolerance (only {most} or fewer "
                  "fail)")
    return AuditRow(output.file, "low_precision", status, reason)


def format_audit(rows):
    """The audit as a text table, and a final line 'N of M mistakes caught'."""
    headers = ("output", "mistake", "status", "reason")
    table = [headers] + [(r.output, r.code, r.status, r.reason) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths)) + "  " + line[3]
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(headers[3]))
    lines.append("")
    if untested_line(rows):
        lines.append(untested_line(rows))
    lines.append(summary_line(rows))
    return "\n".join(lines)


def untested_line(rows):
    """What the assignment's shapes and parameters leave untested, whatever the inputs (a stride-1
    backward cannot reveal a stride bug), or None."""
    untested = [f"{r.code} on {r.output}" for r in rows if r.status == "not applicable"]
    if not untested:
        return None
    return "untested because the parameters rule them out: " + ", ".join(untested)


def summary_line(rows):
    """'N of M mistakes caught' (M counts the applicable ones), and what is not."""
    applicable = [r for r in rows if r.status != "not applicable"]
    caught = sum(r.status == "caught" for r in applicable)
    line = f"{caught} of {len(applicable)} mistakes caught"
    missed = [f"{r.code} on {r.output}" for r in applicable if r.status != "caught"]
    if missed:
        line += "; not caught: " + ", ".join(missed)
    return line


def tie_warnings(assignment, inputs):
    """Warnings for max-pool inputs whose windows hold tied maxima.

    The reference routes a tied window's gradient to its first maximum, as PyTorch does; CS231n's
    ``mask = (window == max)`` routes it to every tied one. Both are correct, so on inputs with
    ties a correct backward pass could be marked wrong. Generated inputs (normal, uniform) have
    none; a course's own inputs (ReLU outputs full of zeros, small integers) may.
    """
    warnings = []
    for problem in assignment.problems:
        if problem.op != "maxpool_backward":
            continue
        spec = next(i for i in problem.inputs if i.role == "x")
        x = ops.to_nchw("x", np.asarray(inputs[spec.file], dtype=np.float64), problem.layout)
        params = problem.reference_params
        stride_h, stride_w = as_pair(params.get("stride", 1), "stride")
        ph, pw = params["pool_height"], params["pool_width"]
        _, _, H_out, W_out = pool_output_shape(x.shape, ph, pw, (stride_h, stride_w))
        windows = window_view(x, ph, pw, stride_h, stride_w, H_out, W_out)
        maxima = windows.max(axis=(4, 5), keepdims=True)
        tied = int(np.count_nonzero((windows == maxima).sum(axis=(4, 5)) > 1))
        if tied:
            warnings.append(
                f"{spec.filename}: {tied} of {windows[..., 0, 0].size} pooling windows have tied "
                "maxima; a correct backward pass that sends their gradient to every tied maximum "
                "(or to the last) would be marked wrong. Use inputs without ties.")
    return warnings
