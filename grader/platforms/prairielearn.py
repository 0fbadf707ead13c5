"""The PrairieLearn external grader: results.json in PrairieLearn's format, and the run inside
the grading container.

PrairieLearn copies the question's ``tests/`` to ``<root>/tests`` and the student's uploaded
files to ``<root>/student``, and reads ``<root>/results/results.json`` (root ``/grade``; the
environment variable ``CNNGRADE_GRADE_ROOT`` moves it, for tests). The score is a fraction in
[0, 1]. A submission of which nothing at all can be read is ``gradable: false``: PrairieLearn then
does not charge the student an attempt. The file stays under PrairieLearn's 1 MB limit.

    python -m grader.platforms.prairielearn      # with tests/lib on the path (tests/run.sh)
"""
import json
import os
import sys
import traceback
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.platforms.feedback import STATUS_WORDS, as_text, check_feedback, points
from grader.platforms.grading import grade, load_materials, materials_in

ROOT_VARIABLE = "CNNGRADE_GRADE_ROOT"
DEFAULT_ROOT = "/grade"
MAX_RESULTS_BYTES = 1_000_000  # PrairieLearn's limit for results.json
# Truncation steps for the longest texts, tried in turn until the results fit.
_TEXT_CAPS = (20_000, 4_000, 1_000, 200)
STAFF_MESSAGE = ("The grader could not grade this submission because of a problem on the "
                 "course's side, not in your files. Please contact the course staff.")
# The statuses of a check whose file was read and judged: one is enough to make a grade.
_JUDGED = {"pass", "fail", "unchecked"}


def grade_root():
    return Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def prairielearn_results(result):
    """PrairieLearn's results.json object for a graded SubmissionResult."""
    checks = result.checks
    if result.error or not any(check.status in _JUDGED for check in checks):
        return _not_gradable(result)
    tests = []
    for check in checks:
        feedback = check_feedback(check)
        tests.append({
            "name": feedback.file,
            "description": f"{feedback.problem}: {STATUS_WORDS.get(feedback.status, feedback.status)}",
            "points": check.score,
            "max_points": check.max_score,
            "message": feedback.found,
            "output": as_text(feedback),
        })
    passed = sum(check.status == "pass" for check in checks)
    message = (f"Score: {points(result.score)} / {points(result.max_score)}. "
               f"{passed} of {len(checks)} outputs passed.")
    score = result.score / result.max_score if result.max_score else 0.0
    return fit_size({"gradable": True, "score": min(max(score, 0.0), 1.0), "message": message,
                     "tests": tests})


def _not_gradable(result):
    if result.error:
        errors = [result.error]
    else:
        errors = [check_feedback(check).found for check in result.checks
                  if check.status == "error"]
    if not errors:
        return {"gradable": False,
                "message": "No output files were found, so nothing was graded and no attempt was "
                           "counted. Upload the output files that make_outputs.py writes."}
    return fit_size({"gradable": False,
                     "message": "None of your files could be read, so nothing was graded and no "
                                "attempt was counted. Upload the output files that make_outputs.py "
                                "writes.",
                     "format_errors": errors})


def staff_error_results():
    """results.json when cnngrade itself failed; not the student's fault, so no attempt counts."""
    return {"gradable": False, "message": STAFF_MESSAGE, "format_errors": [STAFF_MESSAGE]}


def fit_size(results, limit=MAX_RESULTS_BYTES):
    """``results`` whose JSON is at most ``limit`` bytes: the longest texts cut shorter in steps."""
    for cap in (None, *_TEXT_CAPS):
        fitted = results if cap is None else _capped(results, cap)
        if len(_json(fitted).encode("utf-8")) <= limit:
            return fitted
    # Even short texts overflow (countless errors): keep the verdict and a few lines.
    fitted = _capped(results, _TEXT_CAPS[-1])
    for key, kept in (("format_errors", 20), ("tests", 100)):
        if key in fitted:
            fitted[key] = fitted[key][:kept]
    return fitted


def _capped(value, cap):
    if isinstance(value, str):
        return value if len(value) <= cap else value[:cap] + " ... (cut short)"
    if isinstance(value, list):
        return [_capped(item, cap) for item in value]
    if isinstance(value, dict):
        return {key: _capped(item, cap) for key, item in value.items()}
    return value


def _json(results):
    return json.dumps(results, indent=2, allow_nan=False) + "\n"


def run(root):
    """Grade ``root``/student into ``root``/results/results.json; never raises for a grading
    failure (the results then ask the student to contact the staff)."""
    try:
        context = load_materials(materials_in(root / "tests"))
        results = prairielearn_results(grade(root / "student", context))
    except Exception:  # whatever went wrong, PrairieLearn must get a results file
        traceback.print_exc(file=sys.stdout)  # the job's log, for instructors
        results = staff_error_results()
    write_text_atomic(root / "results" / "results.json", _json(results))
    return results


def main():
    results = run(grade_root())
    print(f"cnngrade: gradable {results['gradable']}, score {results.get('score')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
