"""Batch grading: the example class end to end, the same results whatever --jobs, a broken or
stalling submission isolated, and every output written."""
import json
import math
import os
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from grader.batch import run as batch_module
from grader.batch.run import grade_batch
from grader.cli import main

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, SPEC, write_submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions"
EXAMPLE_SCORES = {"e0000001a": 10, "e0000002b": 10, "e0000003c": 9, "e0000004d": 8,
                  "e0000005e": 9, "e0000006f": 8, "e0000007g": 10, "e0000008h": 9,
                  "e0000009i": 10}
STAMP = "2026-01-01 00:00:00 UTC"


def run_batch(root, out, **options):
    return grade_batch(root, spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED,
                       out_dir=out, generated_at=STAMP, **options)


@pytest.fixture(scope="module")
def example_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    return run_batch(EXAMPLES, out, jobs=2), out


def test_example_class_scores(example_batch):
    batch, out = example_batch
    assert {s.id: s.score for s in batch.submissions} == EXAMPLE_SCORES
    data = json.loads((out / "results.json").read_text())
    assert data["assignment"] == "CS5242 Assignment 2 - Building CNNs"
    assert [s["id"] for s in data["submissions"]] == sorted(EXAMPLE_SCORES)
    assert {s["id"]: s["score"] for s in data["submissions"]} == EXAMPLE_SCORES


def test_example_class_writes_every_output(example_batch):
    _, out = example_batch
    assert (out / "report.html").is_file()
    gradebook = pd.read_csv(out / "gradebook.csv")
    assert list(gradebook["id"]) == sorted(EXAMPLE_SCORES)
    assert dict(zip(gradebook["id"], gradebook["total"])) == EXAMPLE_SCORES
    pages = sorted(p.stem for p in (out / "feedback").glob("*.html"))
    assert pages == sorted(EXAMPLE_SCORES)
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temporaries


def test_example_class_flags_only_the_shared_masks(example_batch):
    batch, _ = example_batch
    flags = {s.id: sorted({f.code for f in s.flags}) for s in batch.submissions if s.flags}
    assert flags == {"e0000001a": ["identical_dropout_mask"],
                     "e0000009i": ["copied_expected", "identical_dropout_mask"]}


def test_results_are_identical_whatever_the_number_of_jobs(example_batch, tmp_path):
    _, out2 = example_batch
    out1 = tmp_path / "one"
    run_batch(EXAMPLES, out1, jobs=1)
    for name in ("results.json", "gradebook.csv", "report.html"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_a_rerun_removes_pages_of_students_no_longer_in_the_class(tmp_path):
    a = load_assignment()
    root = tmp_path / "class"
    for name in ("ann", "ben"):
        write_submission(root / name / "output_files", texts(a, correct_outputs(a, inputs(), 23)))
    run_batch(root, tmp_path / "out", jobs=1)
    shutil.rmtree(root / "ben")
    run_batch(root, tmp_path / "out", jobs=1)
    assert sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir()) == ["ann.html"]
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_a_broken_submission_is_isolated(tmp_path):
    a = load_assignment()
    root = tmp_path / "class"
    write_submission(root / "good" / "output_files", texts(a, correct_outputs(a, inputs(), 21)))
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04garbage")
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    (root / "empty").mkdir()
    with zipfile.ZipFile(root / "slip.zip", "w") as z:
        z.writestr("../../evil.csv", "1\n")
    batch = run_batch(root, tmp_path / "out", jobs=2)
    by_id = {s.id: s for s in batch.submissions}
    assert by_id["good"].score == 10 and by_id["good"].error is None
    assert by_id["corrupt"].score == 0 and "zip" in by_id["corrupt"].error
    assert by_id["slip"].score == 0 and "evil.csv" in by_id["slip"].error
    assert by_id["empty"].score == 0
    assert all(c.status == "missing" for c in by_id["empty"].checks)
    assert not (tmp_path / "evil.csv").exists()
    assert batch.ignored == ["notes.pdf"]
    assert json.loads((tmp_path / "out" / "results.json").read_text())["ignored"] == ["notes.pdf"]
    for submission in batch.submissions:  # files named as the student knows them, not our paths
        assert str(tmp_path) not in (submission.error or "")


def test_copied_masks_are_flagged_and_scores_unchanged(tmp_path):
    """Shared masks are flagged between the students who share them; a copy of expected/ is
    flagged on the long convolution sums, which no honest code writes byte for byte
    (grader/batch/copied.py), and scores never change."""
    a = load_assignment()
    root = tmp_path / "class"
    shared = texts(a, correct_outputs(a, inputs(), 31), "%.12e")
    write_submission(root / "alice" / "output_files", shared)
    write_submission(root / "bob" / "output_files", shared)  # the same dropout masks as alice
    write_submission(root / "carol" / "output_files",
                     texts(a, correct_outputs(a, inputs(), 32), "%.12e"))
    copier = {name: (EXPECTED / name).read_bytes() for name in shared if "train" not in name}
    copier.update({name: shared_text for name, shared_text in
                   texts(a, correct_outputs(a, inputs(), 33)).items() if "train" in name})
    write_submission(root / "dave" / "output_files", copier)
    batch = run_batch(root, tmp_path / "out", jobs=2)
    assert all(s.score == 10 for s in batch.submissions)
    masks = {s.id: sorted(f.with_ for f in s.flags if f.code == "identical_dropout_mask")
             for s in batch.submissions}
    assert masks["alice"] == [["bob"], ["bob"]] and masks["bob"] == [["alice"], ["alice"]]
    assert masks["carol"] == [] and masks["dave"] == []
    copied = {s.id: sorted(f.output for f in s.flags if f.code == "copied_expected")
              for s in batch.submissions}
    assert copied == {"alice": [], "bob": [], "carol": [],
                      "dave": ["conv_backward_out_dw", "conv_backward_out_dx", "conv_forward_out"]}
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    flagged = {s["id"]: [f["code"] for f in s["flags"]] for s in data["submissions"]}
    assert flagged["alice"] == flagged["bob"] == ["identical_dropout_mask"] * 2


def test_a_stalling_submission_hits_the_time_limit(tmp_path, monkeypatch):
    a = load_assignment()
    root = tmp_path / "class"
    for name in ("a", "slow", "z"):
        write_submission(root / name / "output_files", texts(a, correct_outputs(a, inputs(), 22)))
    real = batch_module.grade_submission

    def stalls_on_slow(path, context, submission_id=None, source=None):
        if submission_id == "slow":
            time.sleep(30)
        return real(path, context, submission_id=submission_id, source=source)

    monkeypatch.setattr(batch_module, "grade_submission", stalls_on_slow)
    started = time.monotonic()
    batch = run_batch(root, tmp_path / "out", jobs=1, seconds=0.5)
    assert time.monotonic() - started < 20
    by_id = {s.id: s for s in batch.submissions}
    assert by_id["slow"].score == 0 and "longer than 0.5 s" in by_id["slow"].error
    assert by_id["a"].score == by_id["z"].score == 10


def test_batch_cli_prints_a_summary(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(EXAMPLES), "--spec", str(SPEC), "--inputs",
                                       str(INPUTS), "--expected", str(EXPECTED), "--out",
                                       str(tmp_path / "g"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-2] == ("graded 9 submissions: mean 92.2%, 4 with full marks, "
                         "0 that could not be read, 2 flagged")
    assert lines[-1].startswith(f"report: {tmp_path / 'g'}/report.html")


def test_batch_cli_unreadable_root_exits_1(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "nope"), "--spec", str(SPEC),
                                       "--inputs", str(INPUTS), "--expected", str(EXPECTED),
                                       "--out", str(tmp_path / "g")])
    assert result.exit_code == 1
    assert result.output.startswith("cnngrade: error: ")


def test_batch_requires_expected(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(EXAMPLES), "--spec", str(SPEC), "--inputs",
                                       str(INPUTS), "--expected", str(tmp_path / "none"),
                                       "--out", str(tmp_path / "g")])
    assert result.exit_code == 1 and "manifest.json" in result.output


def load_assignment():
    from grader.assignment.spec import load_spec
    return load_spec(SPEC)


def inputs():
    from grader.assignment.generate import read_inputs
    return read_inputs(load_assignment(), INPUTS)


def test_hostile_values_and_names_never_crash_the_batch(tmp_path):
    """Found by review: a 1.76e308 rounded to inf broke the JSON; a non-UTF-8 file name broke
    the pages; a file outside the outputs' folder showed the grader's own path."""
    a = load_assignment()
    root = tmp_path / "class"
    files = texts(a, correct_outputs(a, inputs(), 41))
    huge = dict(files, **{"conv_backward_out_db.csv": "1.76e308\n-1.7e308\n"})
    write_submission(root / "huge" / "output_files", huge)
    names = write_submission(root / "names" / "output_files", files)
    (names / os.fsdecode(b"\xff\xfe.csv")).write_text("1")
    (names / "\x1b]0;pwned\x07.csv").write_text("1")
    elsewhere = write_submission(root / "elsewhere" / "output_files", files)
    (elsewhere / "conv_forward_out.csv").unlink()
    write_submission(root / "elsewhere" / "other", {"conv_forward_out.csv": "1,abc\n"})
    write_submission(root / "grades" / "output_files", files)  # replaced below by the reports
    shutil.rmtree(root / "grades")
    out = root / "grades"  # --out inside ROOT: a rerun must not grade it as a student
    run_batch(root, out, jobs=2)
    batch = run_batch(root, out, jobs=2)
    by_id = {s.id: s for s in batch.submissions}
    assert sorted(by_id) == ["elsewhere", "huge", "names"]
    assert by_id["huge"].score == 9 and by_id["names"].score == 10
    db = next(c for c in by_id["huge"].checks if c.output == "conv_backward_out_db")
    assert db.status == "fail" and math.isfinite(db.max_abs_err)
    text = (out / "results.json").read_text("utf-8")
    json.loads(text)
    assert str(tmp_path) not in text and "\x1b" not in text
    notes = " ".join(by_id["names"].notes)
    assert "\\x1b]0;pwned\\x07.csv" in notes and "\ufffd\ufffd.csv" in notes
    forward = next(c for c in by_id["elsewhere"].checks if c.output == "conv_forward_out")
    assert forward.status == "error" and forward.message.startswith("other/conv_forward_out.csv, line 1")
    assert (out / "report.html").stat().st_mode & 0o044 == 0o044 & ~_umask()  # shareable, as umask allows


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
