"""grader.batch.results_json: results.json from the lines the workers wrote, flags put in as text."""
import json

import pytest

from grader.batch.results_json import submission_line, with_flags, write_results_json
from grader.results import BatchResult, CheckResult, Flag, SubmissionResult, to_json

# What a student could put in a file name (quoted in messages and notes) to look like the slot.
LOOKALIKE = '"flags": [], "notes": ["x"]'


def submission(student_id, flags=()):
    check = CheckResult(output="conv_forward_out", problem="conv_forward", status="error",
                        score=0.0, max_score=1.0, message=f"{LOOKALIKE}.csv: not a number")
    return SubmissionResult(id=f'{student_id} {LOOKALIKE}', score=0.0, max_score=1.0, error=None,
                            checks=[check], flags=list(flags), notes=[LOOKALIKE])


def test_flags_put_in_as_text_give_the_json_of_the_flagged_result():
    flags = [Flag("identical_dropout_mask", "dropout_forward_out_train", ["b", LOOKALIKE],
                  f"same mask as {LOOKALIKE}")]
    line = submission_line(submission("a"))  # as the worker writes it, before flags are known
    assert "\n" not in line
    flagged = submission("a", flags)
    assert with_flags(line, flagged.flags) == to_json(flagged.to_dict(), indent=None).rstrip("\n")
    assert json.loads(with_flags(line, flagged.flags))["notes"] == [LOOKALIKE]
    assert with_flags(line, []) == line


def test_a_line_without_its_slot_is_refused():
    with pytest.raises(ValueError, match="empty flags list"):
        with_flags('{"id": "a"}', [Flag("copied_expected", "x", [])])


def test_results_json_is_the_batch_as_json(tmp_path):
    results = [submission("a"), submission("b", [Flag("copied_expected", "conv_forward_out", [])])]
    lines = [submission_line(submission("a")) + "\n", submission_line(submission("b"))]
    batch = BatchResult("cnn", results, "2017-10-01 12:00:00 UTC", ignored=["notes.txt"])
    write_results_json(tmp_path / "results.json", batch, iter(lines))
    assert (tmp_path / "results.json").read_text() == to_json(batch.to_dict(), indent=None)
    with pytest.raises(ValueError, match="1 JSON lines for 2 submissions"):
        write_results_json(tmp_path / "short.json", batch, lines[:1])
    assert not (tmp_path / "short.json").exists()
