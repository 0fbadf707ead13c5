"""The per-submission time limit: `check` has it as `batch` does, and when it fires inside an
output's grading the student reads that grading took too long and which file was being read,
never an internal error."""
import time
from pathlib import Path

from grader import pipeline as grade_module
from grader.limits import TimeLimitExceeded
from grader.pipeline import check_submission

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, SPEC, write_submission
from test_batch import inputs, load_assignment, run_batch


def slow_on(monkeypatch, name, seconds=30):
    """Reading ``name`` takes ``seconds``; every other file reads as usual."""
    real = grade_module.parse_array

    def parse_array(data, path, shape):
        if Path(path).name == name:
            time.sleep(seconds)
        return real(data, path, shape)

    monkeypatch.setattr(grade_module, "parse_array", parse_array)


def make_class(root, names):
    a = load_assignment()
    for name in names:
        write_submission(root / name / "output_files", texts(a, correct_outputs(a, inputs(), 4)))


def test_the_limit_names_the_file_being_read_in_the_batch(tmp_path, monkeypatch):
    make_class(tmp_path / "class", ["a", "b"])
    slow_on(monkeypatch, "maxpool_forward_out.csv")
    started = time.monotonic()
    batch = run_batch(tmp_path / "class", tmp_path / "out", jobs=1, seconds=0.5)
    assert time.monotonic() - started < 20
    for submission in batch.submissions:
        assert submission.score == 0
        assert submission.error == (
            "grading took longer than 0.5 s, the time allowed for one submission, and was "
            "stopped while reading output_files/maxpool_forward_out.csv; the outputs were not "
            "graded. Files that make_outputs.py writes take milliseconds to grade")
        assert "internal error" not in submission.error


def test_check_has_a_time_limit(tmp_path, monkeypatch):
    make_class(tmp_path, ["s"])
    slow_on(monkeypatch, "conv_forward_out.csv")
    started = time.monotonic()
    result, _ = check_submission(tmp_path / "s", spec_path=SPEC, inputs_dir=INPUTS,
                                 expected_dir=EXPECTED, seconds=0.5)
    assert time.monotonic() - started < 20
    assert result.score == 0 and "while reading output_files/conv_forward_out.csv" in result.error


def test_check_grades_within_the_limit_as_before(tmp_path):
    make_class(tmp_path, ["s"])
    result, _ = check_submission(tmp_path / "s", spec_path=SPEC, inputs_dir=INPUTS,
                                 expected_dir=EXPECTED, seconds=30)
    assert result.full_marks and result.error is None


def test_the_limit_is_no_submission_error():
    from grader.errors import SubmissionError

    assert not issubclass(TimeLimitExceeded, SubmissionError)
    assert str(TimeLimitExceeded(2)).startswith("grading took longer than 2 s")
