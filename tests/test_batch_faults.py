"""A batch survives what goes wrong around it: a worker killed mid-batch, the main process
killed (workers die with it, the next run cleans up), operator mistakes with --out, two batches
into one --out, and the grader's own failures, which stop the batch or leave a student
ungraded, never zeroed."""
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from grader.batch import run as batch_module
from grader import outdir
from grader.batch.run import grade_batch, worker_count
from grader.cli import main
from grader.errors import GraderError

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, SPEC, write_submission
from test_batch import inputs, load_assignment, run_batch

FORKS = multiprocessing.get_start_method() == "fork"
CNNGRADE = [sys.executable, "-c", "from grader.cli import main; main()"]


def make_class(root, names, seed=3):
    a = load_assignment()
    for i, name in enumerate(names):
        write_submission(root / name / "output_files",
                         texts(a, correct_outputs(a, inputs(), seed + i)))
    return root


def cli(*arguments):
    return CliRunner().invoke(main, [*arguments, "--spec", str(SPEC), "--inputs", str(INPUTS),
                                     "--expected", str(EXPECTED)])


# --- point 4: a dead worker loses nothing ----------------------------------------------------

@pytest.mark.skipif(not FORKS, reason="the patched grading reaches workers only when they fork")
def test_a_worker_killed_by_the_system_loses_nothing(tmp_path, monkeypatch):
    root = make_class(tmp_path / "class", [f"s{i:02d}" for i in range(8)])
    real = batch_module.grade_submission

    def slow(path, context, submission_id=None, source=None):
        time.sleep(0.3)
        return real(path, context, submission_id=submission_id, source=source)

    monkeypatch.setattr(batch_module, "grade_submission", slow)
    killed = []

    def oom_killer():  # kills the first worker it sees, mid-grading, as the OOM killer would
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            workers = multiprocessing.active_children()
            if workers:
                time.sleep(0.4)
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.append(workers[0].pid)
            time.sleep(0.02)

    thread = threading.Thread(target=oom_killer)
    thread.start()
    batch = run_batch(root, tmp_path / "out", jobs=2)
    thread.join()
    assert killed
    assert [s.score for s in batch.submissions] == [10.0] * 8
    assert all(s.graded and s.error is None for s in batch.submissions)
    assert len(json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]) == 8


@pytest.mark.skipif(not FORKS, reason="the patched grading reaches workers only when they fork")
def test_a_submission_that_kills_its_worker_twice_is_left_ungraded(tmp_path, monkeypatch):
    root = make_class(tmp_path / "class", ["a", "doomed", "z"])
    real = batch_module.grade_submission

    def killer(path, context, submission_id=None, source=None):
        if submission_id == "doomed":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, context, submission_id=submission_id, source=source)

    monkeypatch.setattr(batch_module, "grade_submission", killer)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(root), "--out", str(out), "--jobs", "2",
                                       "--spec", str(SPEC), "--inputs", str(INPUTS),
                                       "--expected", str(EXPECTED)])
    assert result.exit_code == 1
    assert "1 submission(s) could not be graded because the grader failed on them: doomed" \
        in result.output
    data = {s["id"]: s for s in json.loads((out / "results.json").read_text())["submissions"]}
    assert data["a"]["score"] == data["z"]["score"] == 10.0
    assert data["doomed"]["graded"] is False
    assert "its grading process was killed (SIGKILL" in data["doomed"]["error"]
    gradebook = pd.read_csv(out / "gradebook.csv").set_index("id")
    assert pd.isna(gradebook.loc["doomed", "total"]) and gradebook.loc["a", "total"] == 10
    assert (out / "feedback" / "doomed.html").is_file() and (out / "report.html").is_file()


KILLED_RUN = """
import sys, time
from grader.batch import run as batch
from grader.batch.run import grade_batch

real = batch.grade_submission

def slow(path, context, submission_id=None, source=None):
    time.sleep(0.5)
    return real(path, context, submission_id=submission_id, source=source)

batch.grade_submission = slow
grade_batch(sys.argv[1], spec_path=sys.argv[3], inputs_dir=sys.argv[4], expected_dir=sys.argv[5],
            out_dir=sys.argv[2], jobs=2)
"""


def children_of(pid):
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text and "\nState:\tZ" not in text:
            found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_kill_9_of_the_batch_takes_its_workers_and_a_rerun_cleans_up(tmp_path):
    root = make_class(tmp_path / "class", [f"s{i:02d}" for i in range(12)])
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(root),
                            str(out), str(SPEC), str(INPUTS), str(EXPECTED)])
    try:
        deadline = time.monotonic() + 60
        while not list((out / "feedback").glob("*.html")) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children_of(run.pid)
        assert len(workers) == 2
        run.kill()
        run.wait()
    finally:
        run.kill()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and "\nState:\tZ" not in
              Path(f"/proc/{pid}/status").read_text() for pid in workers) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()]
    # The spool is an unnamed temporary file: it goes with the killed process.
    assert list(out.glob(".results-*")) == []
    batch = run_batch(root, out, jobs=1)
    assert len(batch.submissions) == 12
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


# --- point 5: --out mistakes -------------------------------------------------------------------

def test_out_equal_to_root_is_refused_before_grading(tmp_path):
    root = make_class(tmp_path / "class", ["s1", "s2"])
    with pytest.raises(GraderError, match="is ROOT itself"):
        run_batch(root, root)
    assert not (root / "feedback").exists()


def test_out_inside_a_student_is_refused(tmp_path):
    root = make_class(tmp_path / "class", ["s1", "s2"])
    for out in (root / "s2", root / "s2" / "grades"):
        with pytest.raises(GraderError, match="in the submission of s2"):
            run_batch(root, out)
    assert sorted(p.name for p in (root / "s2").iterdir()) == ["output_files"]


def test_a_new_out_inside_root_is_never_graded_as_a_student(tmp_path):
    root = make_class(tmp_path / "class", ["s1", "s2"])
    for _ in range(2):
        batch = run_batch(root, root / "grades", jobs=1)
        assert [s.id for s in batch.submissions] == ["s1", "s2"]


@pytest.mark.parametrize("case", ["under a file", "results.json a folder", "gradebook a folder"])
def test_an_unusable_out_is_one_line_before_grading(tmp_path, monkeypatch, case):
    root = make_class(tmp_path / "class", ["s1"])
    out = tmp_path / "out"
    if case == "under a file":
        out.write_text("not a folder")
        out = out / "grades"
    else:
        (out / ("results.json" if case == "results.json a folder" else "gradebook.csv")).mkdir(
            parents=True)
    graded = []
    real = batch_module.grade_and_write_feedback
    monkeypatch.setattr(batch_module, "grade_and_write_feedback",
                        lambda *a, **k: graded.append(1) or real(*a, **k))
    result = cli("batch", str(root), "--out", str(out), "--jobs", "1")
    assert result.exit_code == 1 and graded == []
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnngrade: error: ") and "Traceback" not in \
        result.output


def test_check_json_into_a_missing_folder_is_written(tmp_path):
    make_class(tmp_path, ["s"])
    target = tmp_path / "new" / "deeper" / "s.json"
    result = cli("check", str(tmp_path / "s"), "--json", str(target))
    assert result.exit_code == 0 and json.loads(target.read_text())["score"] == 10.0


@pytest.mark.parametrize("case", ["under a file", "a folder"])
def test_check_json_that_cannot_be_written_is_one_line(tmp_path, case):
    make_class(tmp_path, ["s"])
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder.json").mkdir()
    target = tmp_path / "file" / "s.json" if case == "under a file" else tmp_path / "folder.json"
    result = cli("check", str(tmp_path / "s"), "--json", str(target))
    if case == "a folder":  # click refuses it as a usage error, before anything runs
        assert result.exit_code == 2 and "is a directory" in result.output
        with pytest.raises(GraderError, match="is a folder; give a file name"):
            outdir.check_output_file(target)  # the library says so too
        return
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("cnngrade: error: ")


# --- point 6: one batch at a time per --out ----------------------------------------------------

def test_a_second_batch_into_the_same_out_is_refused_clearly(tmp_path):
    root = make_class(tmp_path / "class", ["s1"])
    out = tmp_path / "out"
    out.mkdir()
    with outdir.locked(out):  # as a first batch holds it while it runs
        with pytest.raises(GraderError, match="another cnngrade batch is writing its results"):
            run_batch(root, out, jobs=1)
        run = subprocess.run(CNNGRADE + ["batch", str(root), "--out",
                              str(out), "--spec", str(SPEC), "--inputs", str(INPUTS),
                              "--expected", str(EXPECTED)], capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.strip() == (
        f"cnngrade: error: {out}: another cnngrade batch is writing its results here; wait for "
        "it to finish, or choose another --out")
    assert run_batch(root, out, jobs=1).submissions[0].score == 10  # free again


def test_two_batches_started_together_both_end_cleanly(tmp_path):
    root = make_class(tmp_path / "class", [f"s{i}" for i in range(6)])
    out = tmp_path / "out"
    command = CNNGRADE + ["batch", str(root), "--out", str(out),
               "--jobs", "1", "--spec", str(SPEC), "--inputs", str(INPUTS), "--expected",
               str(EXPECTED)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outcomes = [(run.wait(), run.stderr.read()) for run in runs]
    for code, stderr in outcomes:
        assert "Traceback" not in stderr
        assert code == 0 or "another cnngrade batch is writing" in stderr
    assert any(code == 0 for code, _ in outcomes)
    assert len(json.loads((out / "results.json").read_text())["submissions"]) == 6


def test_cleanup_tolerates_what_it_cannot_remove(tmp_path):
    feedback = tmp_path / "feedback"
    (feedback / "odd.html").mkdir(parents=True)  # a folder named like a page
    (feedback / "old.html").write_text("x")
    outdir.remove_stale_pages(feedback, ["kept.html"])
    outdir.remove_stale_pages(tmp_path / "missing", ["kept.html"])
    assert sorted(p.name for p in feedback.iterdir()) == ["odd.html"]


# --- point 10: the grader's own failures -------------------------------------------------------

def limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


@pytest.mark.parametrize("jobs, kind", [("1", "folder"), ("2", "folder"), ("1", "zip")])
def test_a_file_size_limit_stops_the_batch_and_zeroes_no_one(tmp_path, jobs, kind):
    root = make_class(tmp_path / "class", ["s1", "s2"])
    if kind == "zip":
        with zipfile.ZipFile(root / "s3.zip", "w") as z:
            for path in (root / "s1" / "output_files").iterdir():
                z.write(path, f"output_files/{path.name}")
    out = tmp_path / "out"
    run = subprocess.run(CNNGRADE + ["batch", str(root), "--out",
                          str(out), "--jobs", jobs, "--spec", str(SPEC), "--inputs", str(INPUTS),
                          "--expected", str(EXPECTED)],
                         capture_output=True, text=True, preexec_fn=limit_file_size)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("cnngrade: error: ") and "File too large" in lines[0]
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert not (out / "results.json").exists() and not (out / "gradebook.csv").exists()


def test_a_bug_of_ours_leaves_the_student_ungraded_not_zeroed(tmp_path, monkeypatch):
    root = make_class(tmp_path / "class", ["a", "buggy"])
    real = batch_module.grade_submission

    def bug(path, context, submission_id=None, source=None):
        if submission_id == "buggy":
            raise TypeError(f"cannot read {tmp_path}/secret/place")
        return real(path, context, submission_id=submission_id, source=source)

    monkeypatch.setattr(batch_module, "grade_submission", bug)
    out = tmp_path / "out"
    result = cli("batch", str(root), "--out", str(out), "--jobs", "1")
    assert result.exit_code == 1
    data = {s["id"]: s for s in json.loads((out / "results.json").read_text())["submissions"]}
    assert data["buggy"]["graded"] is False and data["a"]["graded"] is True
    assert data["buggy"]["error"] == ("not graded: the grader failed on this submission (an "
                                      "internal error (TypeError)); it will be graded again")
    page = (out / "feedback" / "buggy.html").read_text()
    assert str(tmp_path) not in page and str(tmp_path) not in json.dumps(data["buggy"])
    assert "0 / 10" not in page
    assert "\nbuggy,,10,,," in (out / "gradebook.csv").read_text()


# --- point 12: --jobs clamped ------------------------------------------------------------------

def test_jobs_are_clamped_to_the_work_and_the_cores():
    tasks = list(range(9))
    assert worker_count(1000, tasks) <= 9
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert worker_count(1000, list(range(500))) == 2 * cores
    assert worker_count(None, tasks) == min(9, cores)
    assert worker_count(3, []) == 1
