"""Notes are capped with a count of what was left out: thousands of copies of an output make a
few notes, not a megabyte of feedback page and results.json for one student."""
import json

from grader.intake.locate import MAX_NOTES
from grader.results import BatchResult
from grader.report.terminal import MAX_LISTED, format_batch_summary

from grader.simulate import correct_outputs, texts
from simulated import write_submission
from test_batch import inputs, load_assignment, run_batch

COPIES = 3000


def test_thousands_of_copies_of_an_output_make_a_bounded_note_list(tmp_path):
    a = load_assignment()
    outputs = texts(a, correct_outputs(a, inputs(), 8))
    folder = write_submission(tmp_path / "class" / "s" / "output_files", outputs)
    for n in range(1, COPIES + 1):
        (folder / f"conv_forward_out ({n}).csv").write_text(outputs["conv_forward_out.csv"])
    batch = run_batch(tmp_path / "class", tmp_path / "out", jobs=1)
    notes = batch.submissions[0].notes
    assert len(notes) == MAX_NOTES
    assert notes[0] == "output_files/conv_forward_out (1).csv: not graded; " \
                       "output_files/conv_forward_out.csv was"
    assert notes[-1] == f"{COPIES - (MAX_NOTES - 1):,} more notes like these are left out"
    assert batch.submissions[0].score == 10
    assert (tmp_path / "out" / "results.json").stat().st_size < 50_000
    assert (tmp_path / "out" / "feedback" / "s.html").stat().st_size < 100_000
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["submissions"][0]["notes"] == notes


def test_the_summary_lists_a_few_ignored_entries_and_counts_the_rest():
    ignored = [f"stray{i}.pdf" for i in range(500)]
    line = format_batch_summary(BatchResult("a", [], ignored=ignored), "out").splitlines()[0]
    assert line.startswith("ignored 500 entries under ROOT")
    assert line.count("stray") == MAX_LISTED
    assert line.endswith(f"and {500 - MAX_LISTED} more (listed in results.json)")
