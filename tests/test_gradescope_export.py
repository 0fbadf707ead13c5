"""Reading a Gradescope "Export Submissions" folder.

The fixture follows the layout and metadata Gradescope exports for a programming assignment
(submission_metadata.yml with Ruby symbol keys and Ruby timestamps, one submission_<id> folder
per submission), with the cases real exports hold: a group submission, a student id written as a
number, a submitter without an email, a Ruby-tagged results hash, an earlier-submission history
and a submission with no submitters left.
"""
from datetime import datetime, timedelta, timezone

import pytest

from grader.errors import GraderError
from grader.platforms.gradescope_export import METADATA_NAME, Submitter, read_export
from grader.platforms.grading import grade

from platform_env import correct_files, fill

METADATA = """\
submission_245806761:
  :submitters:
  - :name: Ada Lovelace
    :sid: '10000001'
    :email: ada@example.edu
  :created_at: 2024-03-01 22:14:05.123456000 -08:00
  :score: 8.0
  :status: processed
  :results:
    score: 8.0
    execution_time: 1
    output: |-
      **Score: 8 / 10.** 8 of 10 outputs passed.
    tests:
    - name: 'conv_forward: conv_forward_out.csv'
      score: 1.0
      max_score: 1.0
      status: passed
  :history:
  - :created_at: 2024-03-01 21:02:11.000000000 -08:00
    :score: 6.0
    :status: processed
submission_245806802:
  :submitters:
  - :name: Grace Hopper
    :sid: '10000002'
    :email: grace@example.edu
  - :name: Alan Turing
    :sid: '10000003'
    :email: alan@example.edu
  :created_at: 2024-03-02 09:00:00.500000000 Z
  :score: 10.0
  :status: processed
submission_245806990:
  :submitters:
  - :name: Edsger Dijkstra
    :sid: 10000004
  :created_at: 2024-03-03 10:00:00.000000000 +01:00
  :score: 0.0
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: 0.0
submission_245807000:
  :submitters: []
  :created_at: 2024-03-04 12:00:00.000000000 Z
"""


@pytest.fixture()
def export(tmp_path, assignment, inputs):
    root = tmp_path / "assignment_4242_export"
    files = {f"output_files/{name}": text for name, text in correct_files(assignment, inputs).items()}
    for key in ("submission_245806761", "submission_245806802", "submission_245807000"):
        fill(root / key, files)
    fill(root / "submission_1", {"x.csv": "1\n"})  # on disk, not in the metadata
    fill(root / "__MACOSX", {"._submission_1": b"\x00"})
    (root / METADATA_NAME).write_text(METADATA)
    (root / ".DS_Store").write_bytes(b"\x00")
    return root


def test_submitters_times_and_folders(export):
    read = read_export(export)
    assert [s.key for s in read.submissions] == ["submission_245806761", "submission_245806802",
                                                 "submission_245806990", "submission_245807000"]
    ada = read.by_key("submission_245806761")
    assert ada.submitters == (Submitter("Ada Lovelace", "ada@example.edu", "10000001"),)
    assert ada.created_at == datetime(2024, 3, 1, 22, 14, 5, 123456, tzinfo=timezone(timedelta(hours=-8)))
    assert ada.folder == export / "submission_245806761" and ada.exists
    group = read.by_key("submission_245806802")
    assert [s.sid for s in group.submitters] == ["10000002", "10000003"]
    assert [s.email for s in group.submitters] == ["grace@example.edu", "alan@example.edu"]
    assert group.created_at == datetime(2024, 3, 2, 9, 0, 0, 500000, tzinfo=timezone.utc)
    edsger = read.by_key("submission_245806990")
    assert edsger.submitters == (Submitter("Edsger Dijkstra", None, "10000004"),)
    assert edsger.created_at.utcoffset() == timedelta(hours=1)
    assert not edsger.exists  # listed, but its folder was not downloaded
    assert read.by_key("submission_245807000").submitters == ()
    assert read.unlisted == ("submission_1",)


def test_label_names_a_student_by_what_is_known():
    assert Submitter("Ada", "a@x.edu", "1").label == "Ada"
    assert Submitter(None, "a@x.edu", "1").label == "a@x.edu"
    assert Submitter(None, None, "1").label == "1"
    assert Submitter(None, None, None).label == "unknown submitter"


def test_exported_folders_grade(export, context):
    submission = read_export(export).by_key("submission_245806761")
    result = grade(submission.folder, context, submission_id=submission.key)
    assert (result.id, result.score, result.max_score) == ("submission_245806761", 10.0, 10.0)


def test_missing_metadata(tmp_path):
    with pytest.raises(GraderError, match="no submission_metadata.yml: is this a Gradescope"):
        read_export(tmp_path)


@pytest.mark.parametrize("text, message", [
    ("submission_1:\n  :submitters: [\n", "not valid YAML"),
    ("- submission_1\n", "expected one entry per submission folder"),
    ("submission_1: 5\n", "submission_1: expected its :submitters: and details"),
    ("submission_1:\n  :submitters: 5\n", "submission_1: :submitters: is not a list"),
    ("../../etc:\n  :submitters: []\n", "'../../etc' is not a submission folder name"),
])
def test_malformed_metadata_is_named(tmp_path, text, message):
    (tmp_path / METADATA_NAME).write_text(text)
    with pytest.raises(GraderError, match=message) as raised:
        read_export(tmp_path)
    assert raised.value.path == tmp_path / METADATA_NAME


def test_yaml_error_gives_the_line(tmp_path):
    (tmp_path / METADATA_NAME).write_text("submission_1:\n  :submitters:\n  - :name: [x\n")
    with pytest.raises(GraderError) as raised:
        read_export(tmp_path)
    assert raised.value.line is not None
    assert str(raised.value).startswith(f"{tmp_path / METADATA_NAME}, line ")


def test_unsafe_yaml_builds_no_object(tmp_path):
    (tmp_path / METADATA_NAME).write_text(
        "submission_1:\n  :submitters:\n  - :name: !!python/object/apply:os.system ['echo pwned']\n")
    read = read_export(tmp_path)
    assert read.submissions[0].submitters[0].name is None  # a tagged value is data, never run


def test_batch_grades_an_export_under_the_students_it_names(export, tmp_path):
    """`cnngrade batch` on an unzipped export: each student by their Gradescope SID, both members
    of a group graded from the one folder, a folder the metadata does not name listed apart."""
    import json

    from click.testing import CliRunner

    from grader.cli import main
    from simulated import EXPECTED, INPUTS, SPEC

    out = tmp_path / "grades"
    result = CliRunner().invoke(main, ["batch", str(export), "--spec", str(SPEC), "--inputs",
                                       str(INPUTS), "--expected", str(EXPECTED), "--out", str(out),
                                       "--jobs", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    scores = {s["id"]: s["score"] for s in data["submissions"]}
    assert scores == {"10000001": 10.0, "10000002": 10.0, "10000003": 10.0}
    unmatched = {u["entry"]: u["why"] for u in data["course"]["unmatched"]}
    assert unmatched == {"submission_1": "not in submission_metadata.yml",
                         "submission_245807000": "the metadata names no submitter"}
    rows = (out / "gradebook.csv").read_text()
    assert "Ada Lovelace" in rows and "Alan Turing" in rows and "Grace Hopper" in rows


def test_a_roster_matches_exported_submitters_by_sid_or_email(export, tmp_path):
    from grader.course.gradescope import gradescope_grouping
    from grader.course.roster import read_roster

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\ns1,Ada Lovelace,ada@example.edu\n"
                      "10000002,Grace Hopper,grace@example.edu\ns3,Alan Turing,other@example.edu\n")
    grouping = gradescope_grouping(read_export(export), [p.name for p in export.iterdir()],
                                   read_roster(roster))
    assert [s.student for s in grouping.students] == ["s1", "10000002", "s3"]  # email, SID, name
