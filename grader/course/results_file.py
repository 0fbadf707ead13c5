"""A grades folder's results.json (DESIGN.md "Results JSON"), read back for the course tools.

Only the contract's fields are relied on: per submission ``id``, ``score``, ``max_score``,
``error`` and ``checks`` (``output``, ``status``, ``score``, ``max_score``, ``diagnosis``,
``message``). A submission may also carry ``final_score``, the score after overrides (see
apply.py), with ``overrides``, ``late`` (the late penalty) and ``student`` (the roster key's
name and the entry graded); the course tools report them where present and keep ``score`` as
graded.
"""
import json
import math
from pathlib import Path

from grader.errors import GraderError

RESULTS_NAME = "results.json"


def results_path(path):
    """``path`` itself if it is a file, else the results.json inside the folder ``path``."""
    path = Path(path)
    return path / RESULTS_NAME if path.is_dir() else path


def load_results(path):
    """The results dict of a grades folder or results.json at ``path``.

    Raises GraderError, naming the file, when it is missing, not JSON, or lacks the fields
    above (naming the submission and the field), or when two submissions share an id.
    """
    file = results_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraderError("no results here: give a grades folder that `cnngrade batch` wrote, "
                          "or its results.json", path=file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise GraderError(f"cannot read the results: {getattr(e, 'strerror', None) or e}",
                          path=file) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GraderError(f"not valid JSON: {e.msg}", path=file, line=e.lineno,
                          column=e.colno) from None
    if not isinstance(data, dict) or not isinstance(data.get("submissions"), list):
        raise GraderError("not a batch's results: no 'submissions' list", path=file)
    seen = set()
    for number, sub in enumerate(data["submissions"], start=1):
        _check_submission(sub, number, file)
        if sub["id"] in seen:
            raise GraderError(f"two submissions have the id {sub['id']!r}", path=file)
        seen.add(sub["id"])
    return data


def _check_submission(sub, number, file):
    where = f"submission {number}"
    if not isinstance(sub, dict) or not isinstance(sub.get("id"), str):
        raise GraderError(f"{where} has no 'id'", path=file)
    where = f"submission {sub['id']!r}"
    for name in ("score", "max_score"):
        if not _is_number(sub.get(name)):
            raise GraderError(f"{where}: '{name}' is not a number", path=file)
    if "final_score" in sub and not _is_number(sub["final_score"]):
        raise GraderError(f"{where}: 'final_score' is not a number", path=file)
    if "student" in sub and not (isinstance(sub["student"], dict)
                                 and isinstance(sub["student"].get("entry"), str)):
        raise GraderError(f"{where}: 'student' has no 'entry' (the submission graded)", path=file)
    late = sub.get("late")
    if late is not None and not (isinstance(late, dict) and _is_number(late.get("points"))
                                 and isinstance(late.get("units"), int)
                                 and isinstance(late.get("unit"), str)):
        raise GraderError(f"{where}: 'late' lacks its 'points', 'units' or 'unit'", path=file)
    if not isinstance(sub.get("checks"), list):
        raise GraderError(f"{where}: 'checks' is not a list", path=file)
    for check in sub["checks"]:
        if not (isinstance(check, dict) and isinstance(check.get("output"), str)
                and isinstance(check.get("status"), str) and _is_number(check.get("score"))
                and _is_number(check.get("max_score"))):
            raise GraderError(f"{where}: a check lacks 'output', 'status', 'score' or "
                              "'max_score'", path=file)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def final_score(sub):
    """The score a student gets: after overrides if any were applied, else as graded."""
    return sub.get("final_score", sub["score"])


def max_score_of(results, file=None):
    """The assignment's maximum score, the same for every submission of a batch."""
    maxima = sorted({float(sub["max_score"]) for sub in results["submissions"]})
    if len(maxima) > 1:
        raise GraderError(f"the submissions have different maximum scores "
                          f"({', '.join(f'{m:g}' for m in maxima)}): not one assignment", path=file)
    if not maxima:
        raise GraderError("the results hold no submission", path=file)
    return maxima[0]
