"""Canvas and Moodle gradebook imports from a grades folder."""
import csv
import io
import json
import re
import shutil

import pytest

from grader.batch.run import grade_batch
from grader.course.export import canvas_column, describe, export_grades, feedback_text
from grader.errors import GraderError

from simulated import EXPECTED, INPUTS, ROOT, SPEC

OUTPUTS = ("conv_forward_out", "maxpool_forward_out")


def submission(id_, scores=(1, 1), error=None, **extra):
    checks = [{"output": name, "problem": name.rsplit("_", 1)[0],
               "status": "pass" if s == 1 else "fail", "score": float(s), "max_score": 1.0,
               "message": "all 54 elements within tolerance" if s == 1 else
               "54 / 54 elements differ. Likely: you flipped the kernel",
               "diagnosis": None if s == 1 else "flipped_kernel"}
              for name, s in zip(OUTPUTS, scores)]
    return {"id": id_, "score": float(sum(scores)), "max_score": 2.0, "error": error,
            "checks": checks, "flags": [], "notes": [], **extra}


def grades_dir(tmp_path, subs, assignment="CNN layers"):
    folder = tmp_path / "grades"
    folder.mkdir(exist_ok=True)
    (folder / "results.json").write_text(json.dumps({"assignment": assignment, "submissions": subs}))
    return folder


CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Old quiz (11),Current Score\n"
    "    Points Possible,,,,,5.00,(read only)\n"
    '"Smith, John",12345,e0000001a,jsmith,L1,4,80\n'
    '"Tan, Wei Ling",12346,e0000002b,tanwl,L1,,\n'
    '"Ng, Siew Mei",12347,e0000003c,ngsm,"L1 and T2",,\n'
    '"=cmd|\' /C calc\'!A0, Eve",12349,e0000005e,eve,L1,,\n'
)


def roster_file(tmp_path, text=CANVAS_ROSTER):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path):
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no byte-order mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == len(rows)  # CRLF ends records
    return rows


def canvas_importer_reading(rows):
    """What canvas-lms's GradebookImporter (app/models/gradebook_importer.rb) takes from the
    file: its header checks, the Points Possible row, and per student (ID, SIS User ID, SIS
    Login ID, name) -> {assignment id: grade}."""
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    student_columns = 5
    assert "Section" in header[student_columns - 1]
    assignments = {}
    for index, title in enumerate(header[student_columns:], start=student_columns):
        match = re.fullmatch(r"(.*)\s\((\d+)\)", title)
        assignments[index] = (match.group(1), match.group(2)) if match else (title, None)
    points, students = {}, {}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points = {assignments[i]: row[i] for i in assignments}
            continue
        assert not all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in row)
        students[(row[1], row[2], row[3], row[0])] = {assignments[i]: row[i].strip() for i in assignments}
    return points, students


def test_canvas_export_with_a_canvas_roster_from_a_canvas_download(tmp_path):
    subs = [submission("smithjohn_12345_678901_hw", (1, 0)),
            submission("smithjohn_LATE_12345_679500_hw-1", (1, 1)),  # resubmitted: exported
            submission("tanweiling_12346_678950_outputs", (0, 0)),
            submission("stranger_55555_678999_out", (1, 1)),  # on no roster
            submission("cmdcalceve_12349_679000_x", (1, 1))]
    out = tmp_path / "canvas.csv"
    summary = export_grades("canvas", grades_dir(tmp_path, subs), out,
                            roster_path=roster_file(tmp_path), assignment_id=4417)
    rows = read_rows(out)
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "CNN layers (4417)"],
        ["    Points Possible", "", "", "", "", "2"],
        ["Smith, John", "12345", "e0000001a", "jsmith", "L1", "2"],
        ["Tan, Wei Ling", "12346", "e0000002b", "tanwl", "L1", "0"],
        ["Ng, Siew Mei", "12347", "e0000003c", "ngsm", "L1 and T2", "0"],  # no submission
        ["'=cmd|' /C calc'!A0, Eve", "12349", "e0000005e", "eve", "L1", "2"],
    ]
    points, students = canvas_importer_reading(rows)
    assert points == {("CNN layers", "4417"): "2"}
    assert students[("12345", "e0000001a", "jsmith", "Smith, John")] == {("CNN layers", "4417"): "2"}
    assert summary.written == 4
    assert summary.no_submission == ("e0000003c",)
    assert summary.unmatched == (("stranger_55555_678999_out",
                                  "no roster student has the Canvas ID 55555 or the name 'stranger'"),)
    assert summary.superseded == (("e0000001a", "smithjohn_LATE_12345_679500_hw-1",
                                   ("smithjohn_12345_678901_hw",), True),)
    assert describe(summary) == [
        f"wrote 4 students to {out} (Canvas gradebook import)",
        "no submission, exported as 0 (1): e0000003c",
        "not exported, stranger_55555_678999_out: no roster student has the Canvas ID 55555 or "
        "the name 'stranger'",
        "e0000001a has 2 submissions: exported smithjohn_LATE_12345_679500_hw-1, the latest; "
        "not smithjohn_12345_678901_hw",
    ]


def test_canvas_export_without_a_roster_puts_ids_in_the_chosen_column(tmp_path):
    subs = [submission("e0000002b", (1, 0)), submission("e0000001a"),
            submission("=HYPERLINK(\"http://x\")"), submission("smithjohn_12345_6789_hw")]
    folder = grades_dir(tmp_path, subs)
    out = tmp_path / "c.csv"
    export_grades("canvas", folder, out)
    rows = read_rows(out)
    assert rows[0][-1] == "CNN layers"  # no id: Canvas matches the name or makes a new assignment
    assert rows[2:] == [  # in key order
        ["smithjohn", "12345", "", "", "", "2"],  # a Canvas download name gives the Canvas ID
        ["'=HYPERLINK(\"http://x\")", "", "'=HYPERLINK(\"http://x\")", "", "", "2"],
        ["e0000001a", "", "e0000001a", "", "", "2"],
        ["e0000002b", "", "e0000002b", "", "", "1"],
    ]
    export_grades("canvas", folder, out, identifier="sis_login_id")
    assert read_rows(out)[4] == ["e0000001a", "", "", "e0000001a", "", "2"]


def test_final_score_is_exported_and_files_are_byte_identical(tmp_path):
    subs = [submission("e0000001a", (1, 0), final_score=1.5,
                       overrides=[{"output": "maxpool_forward_out", "original": 0.0, "points": 0.5,
                                   "reason": "regrade request"}])]
    folder = grades_dir(tmp_path, subs)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    export_grades("canvas", folder, first)
    export_grades("canvas", folder, second)
    assert read_rows(first)[2][-1] == "1.5"
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("title, assignment_id, message", [
    ("Lab 2 (2017)", None, "Canvas would read the end of 'Lab 2 (2017)' as an assignment id"),
    ("Final Score of lab", 5, "Canvas ignores a column named 'Final Score of lab'"),
    ("  ", 5, "the assignment needs a name for Canvas"),
    ("Lab", 0, "a Canvas assignment id is a positive number, got 0"),
])
def test_canvas_column_refuses_what_canvas_would_misread(title, assignment_id, message):
    with pytest.raises(GraderError, match=re.escape(message)):
        canvas_column(title, assignment_id)
    assert canvas_column("Lab 2 (2017)", 88) == "Lab 2 (2017) (88)"
    assert canvas_column("-Lab", 88) == "'-Lab (88)"


PLAIN_ROSTER = ("id,name,email\n"
                "e0000001a,John Smith,js@u.edu\n"
                "e0000002b,Wei Ling Tan,\n"  # no email
                "e0000003c,Siew Mei Ng,=1+1@u.edu\n")


def test_moodle_export_by_email_with_feedback(tmp_path):
    subs = [submission("e0000001a", (1, 0)), submission("e0000002b"), submission("e0000003c", error="bad zip")]
    out = tmp_path / "moodle.csv"
    summary = export_grades("moodle", grades_dir(tmp_path, subs), out,
                            roster_path=roster_file(tmp_path, PLAIN_ROSTER), identifier="email",
                            title="Assignment 2")
    rows = read_rows(out)
    assert rows == [
        ["Email address", "Assignment 2", "Feedback"],
        ["js@u.edu", "1", "Score: 1 / 2.\nmaxpool_forward_out: fail (0 / 1). 54 / 54 elements "
                          "differ. Likely: you flipped the kernel"],
        ["'=1+1@u.edu", "2", "Score: 2 / 2.\nCould not be graded: bad zip"],
    ]
    assert summary.left_out == (("e0000002b", "no Email address on the roster"),)
    assert summary.written == 2
    assert "left out e0000002b: no Email address on the roster" in describe(summary)


def test_moodle_export_by_id_number_includes_students_without_submission(tmp_path):
    out = tmp_path / "moodle.csv"
    export_grades("moodle", grades_dir(tmp_path, [submission("js@u.edu")]), out,
                  roster_path=roster_file(tmp_path, PLAIN_ROSTER))
    assert read_rows(out) == [
        ["ID number", "CNN layers", "Feedback"],
        ["e0000001a", "2", "Score: 2 / 2."],  # the roster maps the email to the student
        ["e0000002b", "0", "No submission: 0 / 2."],
        ["e0000003c", "0", "No submission: 0 / 2."],
    ]


def test_moodle_download_names_need_a_roster_to_reach_moodle_ids(tmp_path):
    subs = [submission("Jane Doe_1234567_assignsubmission_file")]
    out = tmp_path / "moodle.csv"
    summary = export_grades("moodle", grades_dir(tmp_path, subs), out)
    assert read_rows(out) == [["ID number", "CNN layers", "Feedback"]]
    assert summary.left_out == (("1234567", "no ID number on the roster"),)
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text("Identifier,Full name,Email address,ID number\n"
                         "Participant 1234567,Jane Doe,jd@u.edu,A0042\n", encoding="utf-8")
    export_grades("moodle", grades_dir(tmp_path, subs), out, roster_path=worksheet)
    assert read_rows(out)[1][:2] == ["A0042", "2"]


def test_feedback_lists_overrides():
    sub = submission("e1", (0, 1), final_score=2.0,
                     overrides=[{"output": None, "original": 1.0, "points": 2.0, "reason": "appeal"}])
    assert feedback_text(sub, 2.0).splitlines() == [
        "Score: 2 / 2.",
        "conv_forward_out: fail (0 / 1). 54 / 54 elements differ. Likely: you flipped the kernel",
        "Changed by the instructor: total 1 -> 2 (appeal)."]


@pytest.mark.parametrize("lms, identifier, message", [
    ("blackboard", None, "unknown LMS 'blackboard': expected one of canvas, moodle"),
    ("canvas", "email", "--identifier email is not one for canvas: expected one of sis_user_id, sis_login_id"),
])
def test_bad_arguments(tmp_path, lms, identifier, message):
    with pytest.raises(GraderError, match=re.escape(message)):
        export_grades(lms, grades_dir(tmp_path, [submission("a")]), tmp_path / "x.csv",
                      identifier=identifier)


def test_results_that_are_not_one_assignment_are_refused(tmp_path):
    subs = [submission("a"), {**submission("b"), "max_score": 10.0}]
    with pytest.raises(GraderError, match=r"different maximum scores \(2, 10\)"):
        export_grades("canvas", grades_dir(tmp_path, subs), tmp_path / "x.csv")


def test_a_graded_canvas_download_exports_into_the_right_students(tmp_path):
    """End to end: a Canvas bulk download of the example class (one student resubmitted late,
    one handed in nothing, one is not on the roster) graded by `cnngrade batch`, then exported."""
    examples = ROOT / "examples" / "submissions"
    download = tmp_path / "download"
    download.mkdir()
    names = {"e0000001a": "smithjohn_12345_678901_e0000001a",
             "e0000003c": "smithjohn_LATE_12345_679800_e0000001a-1",  # a later, worse upload
             "e0000008h": "tanweiling_12346_678950_outputs",
             "e0000002b": "stranger_55555_678999_outputs"}
    for example, canvas_name in names.items():
        shutil.copytree(examples / example, download / canvas_name)
    shutil.copy(examples / "e0000007g.zip", download / "cmdcalceve_12349_679001_hw2.zip")
    grade_batch(download, spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED,
                out_dir=tmp_path / "grades", generated_at="2026-01-01 00:00:00 UTC", jobs=1)
    out = tmp_path / "canvas.csv"
    summary = export_grades("canvas", tmp_path / "grades", out, roster_path=roster_file(tmp_path),
                            assignment_id=4417)
    _, students = canvas_importer_reading(read_rows(out))
    assert {key[1]: grades[("CS5242 Assignment 2 - Building CNNs", "4417")]
            for key, grades in students.items()} == {
        "e0000001a": "9",  # the latest upload, e0000003c's outputs: 9 / 10
        "e0000002b": "9",  # e0000008h's outputs
        "e0000003c": "0",  # no submission
        "e0000005e": "10",
    }
    assert summary.unmatched[0][0] == "stranger_55555_678999_outputs"
    assert summary.superseded[0][:3] == ("e0000001a", "smithjohn_LATE_12345_679800_e0000001a-1",
                                         ("smithjohn_12345_678901_e0000001a",))
