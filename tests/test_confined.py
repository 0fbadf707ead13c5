"""A submission is held open while graded and read through that handle (grader.intake.confine): swapping
output_files/ for a link to an outside folder, before or during grading, never makes the grader
read outside the submission; a folder the grader may not read is reported as unreadable."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from grader import pipeline as grade_module
from grader.errors import SubmissionError
from grader.pipeline import grade_submission
from grader.intake.submissions import SubmissionSource, open_submission
from grader.intake.reading import read_bytes_capped
from grader.results import to_json

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, ROOT, SPEC, write_submission

SECRET = "SECRET-7f3a"


def make_student(tmp_path, context, seed=11):
    a = context.assignment
    folder = write_submission(tmp_path / "s" / "output_files",
                              texts(a, correct_outputs(a, context.inputs, seed)))
    secret = tmp_path / "secret"
    secret.mkdir()
    for output in a.outputs:  # what the student must never get the grader to read
        (secret / output.filename).write_text(f"{SECRET}\n")
    os.chmod(secret, 0o700)
    return folder.parent, secret


def swap_for_link(submission, secret):
    """output_files/ replaced by a link to the secret folder; the real one kept aside."""
    (submission / "output_files").rename(submission / "kept")
    os.symlink(secret, submission / "output_files")


def test_swapping_output_files_for_a_link_after_locating_reads_nothing_outside(tmp_path,
                                                                             context,
                                                                             monkeypatch):
    submission, secret = make_student(tmp_path, context)
    real_locate = grade_module.locate_outputs

    def locate_then_swap(folder, names):
        located = real_locate(folder, names)
        swap_for_link(submission, secret)  # the student's move, right after locating
        return located

    monkeypatch.setattr(grade_module, "locate_outputs", locate_then_swap)
    result = grade_submission(submission, context)
    assert os.path.islink(submission / "output_files")  # the swap happened
    assert SECRET not in to_json(result.to_dict())
    assert result.full_marks  # read through the handle on the folder that was located


def test_a_link_swapped_in_before_grading_is_refused_not_followed(tmp_path, context):
    submission, secret = make_student(tmp_path, context)
    swap_for_link(submission, secret)
    result = grade_submission(submission, context)
    assert SECRET not in to_json(result.to_dict())
    assert "output_files: a link to a folder; not followed" in result.notes
    assert "outputs found in kept/, not in output_files/" in result.notes  # graded from there


def test_a_real_flip_loop_never_reads_outside(tmp_path, context):
    submission, secret = make_student(tmp_path, context)
    stop = threading.Event()
    flips = []

    def flip():
        while not stop.is_set():
            swap_for_link(submission, secret)
            os.unlink(submission / "output_files")
            (submission / "kept").rename(submission / "output_files")
            flips.append(1)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        results = [grade_submission(submission, context) for _ in range(300)]
    finally:
        stop.set()
        flipper.join()
    assert len(flips) > 100
    assert not any(SECRET in to_json(r.to_dict()) for r in results)
    for result in results:  # what was read is the student's own: right, or refused, never wrong
        assert {c.status for c in result.checks} <= {"pass", "error", "missing"}


def test_reading_refuses_what_it_refused_before(tmp_path, context):
    submission, secret = make_student(tmp_path, context)
    outputs = submission / "output_files"
    (outputs / "conv_forward_out.csv").unlink()
    os.symlink(secret / "conv_forward_out.csv", outputs / "conv_forward_out.csv")
    (outputs / "maxpool_forward_out.csv").unlink()
    os.mkfifo(outputs / "maxpool_forward_out.csv")
    big = outputs / "maxpool_backward_out.csv"
    big.write_bytes(b"1\n" * 40_000)  # 80 KB, over the 64 KB cap
    result = grade_submission(submission, context)
    messages = {c.output: c.message for c in result.checks}
    assert messages["conv_forward_out"] == "conv_forward_out.csv: is a link; hand in the file itself"
    assert messages["maxpool_forward_out"] == "maxpool_forward_out.csv: is not a regular file"
    assert messages["maxpool_backward_out"].startswith(
        "maxpool_backward_out.csv: is 80,000 bytes, more than the 65,536 bytes")
    assert SECRET not in to_json(result.to_dict())


def test_a_folder_on_the_path_swapped_for_a_link_is_not_followed(tmp_path, context):
    submission, secret = make_student(tmp_path, context)
    source = SubmissionSource("s", submission, "folder")
    original = (submission / "output_files" / "conv_forward_out.csv").read_bytes()
    with open_submission(source) as folder:
        path = folder / "output_files" / "conv_forward_out.csv"
        swap_for_link(submission, secret)  # before the grader first opens output_files/
        with pytest.raises(SubmissionError) as e:
            read_bytes_capped(path, 65536)
    assert e.value.message == ("cannot read: a folder on its path is a link or not a folder; "
                               "links are not followed")
    assert read_bytes_capped(path, 65536) == f"{SECRET}\n".encode()  # outside: read as usual
    os.unlink(submission / "output_files")
    (submission / "kept").rename(submission / "output_files")
    with open_submission(source) as folder:
        assert read_bytes_capped(path, 65536) == original  # output_files/ opened here...
        swap_for_link(submission, secret)
        assert read_bytes_capped(path, 65536) == original  # ...and read through that handle


def test_a_zip_submission_is_held_too(tmp_path, context):
    submission, _ = make_student(tmp_path, context)
    archive = tmp_path / "z.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", submission)
    result = grade_submission(archive, context)
    assert result.full_marks


# --- a folder the grader may not read -------------------------------------------------------

GRADE_ONE = """
import sys
from grader.pipeline import grade_submission, load_context
context = load_context(sys.argv[1], sys.argv[2], sys.argv[3])
result = grade_submission(sys.argv[4], context)
print(result.error)
print(result.notes)
"""


def without_read_override(arguments):
    """Run ``python -c`` as a user whom file permissions bind: root without the capabilities
    that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), else the user nobody; skip when
    neither is possible here."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot drop the right to read anything")
    probe_dir = Path(tempfile.mkdtemp())
    os.chmod(probe_dir, 0o000)
    try:
        for prefix in ([setpriv, "--bounding-set=-all", "--inh-caps=-all"],
                       [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]):
            probe = subprocess.run(prefix + [sys.executable, "-c",
                                             f"import os, grader; os.listdir({str(probe_dir)!r})"],
                                   capture_output=True, text=True, cwd=ROOT)
            if "PermissionError" in probe.stderr:
                return subprocess.run(prefix + [sys.executable, "-c", *arguments],
                                      capture_output=True, text=True, cwd=ROOT)
    finally:
        os.chmod(probe_dir, 0o700)
        probe_dir.rmdir()
    pytest.skip("cannot run Python bound by file permissions here (not root, or capabilities "
                "cannot be dropped, and user nobody cannot import the grader)")


@pytest.mark.parametrize("where", ["top", "inside"])
def test_a_folder_the_grader_may_not_read_is_reported_as_unreadable(tmp_path, context, where):
    submission, _ = make_student(tmp_path, context)
    locked = submission if where == "top" else submission / "output_files"
    os.chmod(locked, 0o000)
    try:
        run = without_read_override([GRADE_ONE, str(SPEC), str(INPUTS), str(EXPECTED),
                                     str(submission)])
    finally:
        os.chmod(locked, 0o755)
    assert run.returncode == 0, run.stderr
    error, notes = run.stdout.splitlines()
    if where == "top":
        assert error == "s: cannot be read (Permission denied): the grader may not open this folder"
    else:
        assert error == "None"
        assert "output_files/: cannot be read (Permission denied); not searched" in notes
    assert "min() arg" not in run.stdout + run.stderr


LOCATE_ONE = """
import sys
from grader.errors import SubmissionError
from grader.intake.locate import locate_outputs
try:
    locate_outputs(sys.argv[1], ["a.csv"])
except SubmissionError as e:
    print(e.message)
"""


def test_locating_in_a_folder_that_cannot_be_listed_says_so(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    os.chmod(folder, 0o000)
    try:
        run = without_read_override([LOCATE_ONE, str(folder)])
    finally:
        os.chmod(folder, 0o755)
    assert run.stdout.strip() == ("cannot be read (Permission denied): the grader may not open "
                                  "this folder"), run.stderr
