"""The Gradescope autograder: results.json in Gradescope's format, and the run inside its container.

Gradescope unpacks the autograder zip to ``<root>/source``, puts the student's files in
``<root>/submission`` and reads ``<root>/results/results.json`` (root ``/autograder``; the
environment variable ``CNNGRADE_AUTOGRADER_ROOT`` moves it, for tests). ``run`` always writes a
results file: when cnngrade itself cannot grade, it scores 0 and asks the student to contact the
course staff, and the traceback goes to stdout, which only instructors see.

    python -m grader.platforms.gradescope check    # at set-up: the bundle loads (exit 1 if not)
    python -m grader.platforms.gradescope grade    # per submission: write results.json
"""
import json
import os
import stat
import sys
import time
import traceback
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.errors import GraderError
from grader.platforms.feedback import as_markdown, check_feedback, markdown_escape, points
from grader.platforms.grading import assignment_name, grade, load_materials, materials_in
from grader.platforms.settings import GradescopeSettings

ROOT_VARIABLE = "CNNGRADE_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
SETTINGS_NAME = "cnngrade_gradescope.json"  # the resolved [platforms.gradescope] table, in source/
STAFF_MESSAGE = ("The autograder could not grade this submission because of a problem on the "
                 "course's side, not in your files. Please contact the course staff; your "
                 "submission is kept.")

_LATER = {"hidden": "are not shown to students",
          "after_due_date": "are shown after the due date",
          "after_published": "are shown when grades are published"}


def autograder_root():
    return Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def gradescope_results(result, settings, execution_time):
    """Gradescope's results.json object for a graded submission (a results dict)."""
    tests = []
    problem_number, output_number, last_problem = 0, 0, None
    for check in result.checks:
        if check.problem != last_problem:
            problem_number, output_number, last_problem = problem_number + 1, 0, check.problem
        output_number += 1
        feedback = check_feedback(check)
        tests.append({
            "name": f"{feedback.problem}: {feedback.file}",
            "number": f"{problem_number}.{output_number}",
            "score": check.score,
            "max_score": check.max_score,
            "status": "passed" if feedback.passed else "failed",
            "output": as_markdown(feedback),
            "output_format": "md",
            "tags": [check.diagnosis_code] if check.diagnosis_code else [],
            "visibility": settings.visibility_of(check.output),
        })
    return {
        "score": result.score,
        "execution_time": round(execution_time),
        "output": _summary(result, tests),
        "output_format": "md",
        "stdout_visibility": "hidden",
        "visibility": settings.visibility,
        "tests": tests,
    }


def _summary(result, tests):
    """The top-level output: what a student may see now, never a hidden test's outcome."""
    lines = []
    if result.error:
        lines.append(f"**This submission could not be graded:** {markdown_escape(result.error)}. "
                     "Every output scores 0; fix this and submit again.")
    shown = [t for t in tests if t["visibility"] == "visible"]
    if len(shown) == len(tests):
        passed = sum(t["status"] == "passed" for t in tests)
        lines.append(f"**Score: {points(result.score)} / {points(result.max_score)}.** "
                     f"{passed} of {len(tests)} outputs passed.")
    else:
        if shown:
            passed = sum(t["status"] == "passed" for t in shown)
            lines.append(f"{passed} of the {len(shown)} outputs shown now passed.")
        for visibility, when in _LATER.items():
            later = sum(t["visibility"] == visibility for t in tests)
            if later:
                lines.append(f"The results of {later} more output{'s' if later > 1 else ''} {when}.")
    if result.notes:
        lines.append("**About your files:**\n\n"
                     + "\n".join(f"- {markdown_escape(note)}" for note in result.notes))
    return "\n\n".join(lines)


def staff_error_results(execution_time=0.0):
    """results.json when cnngrade itself failed: score 0 and a message to contact the staff."""
    return {"score": 0.0, "execution_time": round(execution_time), "output": STAFF_MESSAGE,
            "output_format": "md", "stdout_visibility": "hidden", "tests": []}


def submission_to_grade(folder):
    """What to grade in Gradescope's submission folder: a zip that is the only file uploaded
    (its contents, as if Gradescope had not unpacked it), else the folder itself."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return folder  # grading says what is wrong with it
    if len(entries) == 1 and entries[0].suffix.lower() == ".zip":
        mode = os.lstat(entries[0]).st_mode
        if stat.S_ISREG(mode):  # never a link: it could point anywhere in the container
            return entries[0]
    return folder


def check_bundle(root):
    """Load the bundle as grading will (at set-up, so that a broken zip fails the build)."""
    context = load_materials(materials_in(root / "source"))
    read_settings(root / "source")
    return context


def read_settings(source):
    return GradescopeSettings.from_dict(json.loads((source / SETTINGS_NAME).read_text("utf-8")))


def run(root, clock=time.monotonic):
    """Grade ``root``/submission into ``root``/results/results.json; never raises for a grading
    failure (the results then ask the student to contact the staff)."""
    start = clock()
    try:
        context = load_materials(materials_in(root / "source"))
        settings = read_settings(root / "source")
        result = grade(submission_to_grade(root / "submission"), context)
        results = gradescope_results(result, settings, clock() - start)
    except Exception:  # whatever went wrong, the student must get a results file
        traceback.print_exc(file=sys.stdout)  # stdout is for instructors only
        results = staff_error_results(clock() - start)
    path = root / "results" / "results.json"
    write_text_atomic(path, json.dumps(results, indent=2, allow_nan=False) + "\n")
    return results


def main(argv=None):
    command = (argv if argv is not None else sys.argv[1:]) or ["grade"]
    root = autograder_root()
    if command == ["check"]:
        try:
            context = check_bundle(root)
        except GraderError as e:
            print(f"cnngrade: error: {e}", file=sys.stderr)
            return 1
        print(f"cnngrade: the autograder grades {assignment_name(context)!r}")
        return 0
    if command == ["grade"]:
        results = run(root)
        print(f"cnngrade: score {results['score']}")
        return 0
    print("usage: python -m grader.platforms.gradescope [check | grade]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
