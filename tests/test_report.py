"""A synthetic graded class for the report and gradebook tests (and for looking at the pages).

Results are built directly as the grader would return them, so the reports can be tested without
grading anything: a deterministic class with the common mistakes of the assignment, one unreadable
submission, flags, and ids that try to break out of HTML and spreadsheets.

    python tests/report_fixtures.py OUT_DIR [N]   # writes OUT_DIR/report.html and feedback/
"""
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.results import BatchResult, CheckResult, Flag, SubmissionResult  # noqa: E402
from grader.spec import load_spec  # noqa: E402

GENERATED_AT = "2017-10-01 12:00:00 UTC"
HOSTILE_IDS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "../../etc/passwd",
    "e 01 ünïcode",
)


def assignment():
    return load_spec(ROOT / "assignment.toml")


def passing(output):
    if output.statistical:
        return dropout_check(output, "pass")
    size = output.size
    return CheckResult(
        output=output.file, problem=output.problem, status="pass", score=output.points,
        max_score=output.points,
        message=f"all {size} elements within tolerance; worst 2.2e-16 at (0,) (up to 5e-06 allowed)",
        mismatches=0, size=size, max_abs_err=2.2e-16, max_rel_err=1e-15,
        details={"max_abs_index": [0] * len(output.shape), "max_rel_index": [0] * len(output.shape),
                 "rel_error": 3e-16, "atol_abs": 5e-6, "rtol": 1e-5, "scale": 0.5,
                 "file_sha256": "0" * 64},
    )


def failing(output, diagnosis, mismatches=None, message=None):
    size = output.size
    mismatches = size - 3 if mismatches is None else mismatches
    index = [1] * len(output.shape)
    return CheckResult(
        output=output.file, problem=output.problem, status="fail", score=0.0,
        max_score=output.points,
        message=message or f"{mismatches} / {size} elements differ; worst 3.1e-01 at {tuple(index)}",
        diagnosis=diagnosis, mismatches=mismatches, size=size, max_abs_err=0.31, max_rel_err=None,
        details={"max_abs_index": index, "max_rel_index": [0] * len(output.shape),
                 "rel_error": 0.42, "atol_abs": 5e-6, "rtol": 1e-5, "scale": 0.5},
    )


def dropout_check(output, status, diagnosis=None, dropped=None):
    size = output.size
    p = 0.3 if output.problem == "dropout_forward" else 0.8
    dropped = round(size * p) if dropped is None else dropped
    lo, hi = round(size * p * 0.7), round(size * p * 1.3)
    passed = status == "pass"
    message = (f"dropped {dropped} / {size} ({dropped / size:.1%}), accepted {lo}-{hi} for p = {p:g}"
               + ("; values and mask look right" if passed else ""))
    return CheckResult(
        output=output.file, problem=output.problem, status=status,
        score=output.points if passed else 0.0, max_score=output.points, message=message,
        diagnosis=diagnosis, mismatches=0, size=size,
        details={"dropped": dropped, "tested": size, "ambiguous": 0,
                 "observed_fraction": dropped / size, "expected_fraction": p,
                 "accepted_interval": [lo, hi], "accepted_fractions": [lo / size, hi / size],
                 "p_value": 0.61 if passed else 3e-9, "bad_values": 0, "structure_failures": [],
                 "structure_tests": [["lines", 0.8], ["runs (rows)", 0.4]], "alpha": 1e-6,
                 "mask_sha256": "1" * 64},
    )


def missing(output):
    return CheckResult(output=output.file, problem=output.problem, status="missing", score=0.0,
                       max_score=output.points, message=f"{output.filename} not found",
                       diagnosis="missing_file")


def parse_error(output, token="nan"):
    return CheckResult(output=output.file, problem=output.problem, status="error", score=0.0,
                       max_score=output.points,
                       message=f"{output.filename}, line 8, column 1: {token!r} is not a finite number",
                       diagnosis="nonfinite", size=output.size)


def submission(student_id, checks, **kwargs):
    return SubmissionResult(id=student_id, score=sum(c.score for c in checks),
                            max_score=sum(c.max_score for c in checks), error=None, checks=checks,
                            **kwargs)


def unreadable(student_id, spec, error):
    checks = [CheckResult(output=o.file, problem=o.problem, status="error", score=0.0,
                          max_score=o.points, message="not graded: the submission could not be read")
              for o in spec.outputs]
    return SubmissionResult(id=student_id, score=0.0, max_score=spec.max_score, error=error,
                            checks=checks)


def make_class(spec=None, n=40, seed=2017, hostile=True):
    """A BatchResult of ``n`` students (plus the hostile ids) with the usual mistakes."""
    spec = spec or assignment()
    rng = random.Random(seed)
    outputs = {o.file: o for o in spec.outputs}
    subs = []
    for i in range(n):
        student_id = f"e{1000000 + 37 * i:07d}{'abcdefghjk'[i % 10]}"
        checks = {o.file: passing(o) for o in spec.outputs}
        notes = []
        if i % 3 == 0:  # a third flatten column-major in conv backward
            checks["conv_backward_out_dx"] = failing(outputs["conv_backward_out_dx"], "column_major")
        if i % 7 == 1:
            checks["conv_forward_out"] = failing(outputs["conv_forward_out"], "flipped_kernel")
        if i % 9 == 2:
            checks["dropout_forward_out_train"] = dropout_check(
                outputs["dropout_forward_out_train"], "fail", "keep_probability", dropped=282)
        if i % 11 == 3:
            checks["maxpool_backward_out"] = missing(outputs["maxpool_backward_out"])
            notes.append("maxpool_backward_out.csv found as 'maxpool_backward_output.csv' (misnamed)")
        if i % 13 == 4:
            checks["maxpool_forward_out"] = parse_error(outputs["maxpool_forward_out"])
        if i % 8 == 5:
            checks["conv_backward_out_db"] = failing(outputs["conv_backward_out_db"], None, 1)
        if rng.random() < 0.1:
            checks["dropout_backward_out_test"] = failing(outputs["dropout_backward_out_test"],
                                                          "scaled_at_test")
        subs.append(submission(student_id, [checks[o.file] for o in spec.outputs], notes=notes))
    subs.append(unreadable("e9999999z", spec, "e9999999z.zip: not a zip file (starts with 'PK\\x05')"))
    if hostile:
        for j, student_id in enumerate(HOSTILE_IDS):
            checks = [passing(o) for o in spec.outputs]
            checks[j] = failing(spec.outputs[j], None, 2,
                                message=f"<b>bold</b> '{student_id}' file <script>x</script>")
            subs.append(submission(student_id, checks,
                                   notes=[f"found <script>alert('{j}')</script> in {student_id}"]))
    # Flags: three students share a mask; one copied an expected file.
    shared = [subs[1].id, subs[4].id, subs[6].id]
    for sid in shared:
        sub = next(s for s in subs if s.id == sid)
        sub.flags.append(Flag("identical_dropout_mask", "dropout_forward_out_train",
                              [x for x in shared if x != sid]))
    subs[10].flags.append(Flag("copied_expected", "conv_forward_out", []))
    subs.sort(key=lambda s: (s.id.casefold(), s.id))
    return BatchResult(spec.name, subs, GENERATED_AT)


def main(argv):
    from grader.gradebook import write_gradebook
    from grader.report import write_reports

    out = Path(argv[0])
    n = int(argv[1]) if len(argv) > 1 else 40
    spec = assignment()
    batch = make_class(spec, n)
    write_reports(out, batch, spec, GENERATED_AT)
    write_gradebook(out / "gradebook.csv", batch, spec)
    print(f"wrote {out}/report.html, {len(batch.submissions)} feedback pages, gradebook.csv")


if __name__ == "__main__":
    main(sys.argv[1:])
