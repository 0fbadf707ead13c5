"""pipeline.JudgedFiles: a deterministic output's bytes seen before in a context are not judged
again, and nothing in any result changes for it."""
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.pipeline import JudgedFiles, grade_submission, load_context
from grader.report.render import render_feedback

from simulated import EXPECTED, INPUTS, SPEC, write_submission

SIMULATED_CLASS = Path(__file__).parent / "golden" / "simulated_class.zip"
STAMP = "2017-10-01 12:00:00 UTC"


@pytest.fixture(scope="module")
def twice_over(tmp_path_factory):
    """The golden simulated class (a student per catalogued mistake, and correct ones), with every
    student handed in a second time under another name."""
    root = tmp_path_factory.mktemp("class")
    with zipfile.ZipFile(SIMULATED_CLASS) as archive:
        archive.extractall(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        shutil.copytree(folder, root / f"again-{folder.name}")
    return root


@pytest.mark.parametrize("show_expected", [False, True])
def test_a_shared_context_grades_as_a_fresh_one_per_student(twice_over, show_expected):
    shared = load_context(SPEC, INPUTS, EXPECTED, show_expected=show_expected)
    folders = sorted(p for p in twice_over.iterdir() if p.is_dir())
    firsts = [p for p in folders if not p.name.startswith("again-")]
    for folder in firsts + [twice_over / f"again-{p.name}" for p in firsts]:
        fresh = load_context(SPEC, INPUTS, EXPECTED, show_expected=show_expected)
        remembered = grade_submission(folder, shared)
        alone = grade_submission(folder, fresh)
        assert remembered.to_dict() == alone.to_dict(), folder.name
        assert (render_feedback(remembered, shared.assignment, STAMP, show_expected)
                == render_feedback(alone, fresh.assignment, STAMP, show_expected)), folder.name
    # Every deterministic output of the second hand-ins was remembered, failing ones included.
    assert len(shared.judged._checks) >= 8
    assert {check.status for check in shared.judged._checks.values()} >= {"pass", "fail"}


def test_unreadable_files_are_judged_each_time_with_their_own_names(tmp_path):
    context = load_context(SPEC, INPUTS, EXPECTED)
    bad = "0.1\nnot-a-number\n"
    first = write_submission(tmp_path / "a" / "output_files", {"conv_forward_out.csv": bad})
    second = write_submission(tmp_path / "b" / "output_files", {"conv_forward_out (1).csv": bad})
    messages = [next(c.message for c in grade_submission(folder.parent, context).checks
                     if c.output == "conv_forward_out") for folder in (first, second)]
    assert "conv_forward_out.csv" in messages[0] and "conv_forward_out (1).csv" in messages[1]
    assert not context.judged._checks


def test_judged_files_forget_the_least_recently_used_and_hand_out_copies():
    judged = JudgedFiles(capacity=2)
    checks = {key: type("Check", (), {"message": key})() for key in "abc"}
    judged.remember("a", checks["a"])
    judged.remember("b", checks["b"])
    copy_of_a = judged.get("a")  # a is now the most recently used
    copy_of_a.message = "changed by its caller"
    judged.remember("c", checks["c"])
    assert judged.get("b") is None
    assert judged.get("a").message == "a" and judged.get("c").message == "c"
    assert judged.get("a") is not checks["a"]
