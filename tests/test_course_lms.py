"""Submission names from Canvas and Moodle downloads, and which roster student each is."""
import pytest

from grader.course.lms import canvas_attempt, group_by_student, parse_submission_name
from grader.course.roster import read_roster


def parsed(entry, **kwargs):
    n = parse_submission_name(entry, **kwargs)
    return (n.lms, n.key, n.name, n.late, n.attempt, n.upload_id, n.file)


@pytest.mark.parametrize("entry, expected", [
    ("smithjohn_12345_678901_hw2.zip", ("canvas", "12345", "smithjohn", False, 0, 678901, "hw2.zip")),
    ("smithjohn_LATE_12345_678902_hw2-1.zip", ("canvas", "12345", "smithjohn", True, 1, 678902, "hw2-1.zip")),
    # Canvas keeps "_" and non-ASCII letters of a name and drops the rest.
    ("de_la_cruzjosé_23456_700001_output_files.zip",
     ("canvas", "23456", "de_la_cruzjosé", False, 0, 700001, "output_files.zip")),
    ("müllerzoë_LATE_34567_700002_CNN outputs (final)-2.tar.gz",
     ("canvas", "34567", "müllerzoë", True, 2, 700002, "CNN outputs (final)-2.tar.gz")),
    # The intake's id of a zip: the name without .zip.
    ("tanweiling_12346_678950_e0000002b", ("canvas", "12346", "tanweiling", False, 0, 678950, "e0000002b")),
    # A file name holding _<digits>_: the first split is the user id.
    ("ngsm_12347_678960_conv_1_2.zip", ("canvas", "12347", "ngsm", False, 0, 678960, "conv_1_2.zip")),
    ("LATE_anon_aB3dE_678970_hw2.zip", ("canvas", "anon_aB3dE", None, True, 0, 678970, "hw2.zip")),
    ("smithjohn_12345_text.html", ("canvas", "12345", "smithjohn", False, 0, None, None)),
    ("Jane Doe_1234567_assignsubmission_file", ("moodle", "1234567", "Jane Doe", False, 0, None, None)),
    ("Jane Doe_1234567_assignsubmission_file_", ("moodle", "1234567", "Jane Doe", False, 0, None, None)),
    ("Zoë  Müller_1234568_assignsubmission_file_outputs_v2.zip",
     ("moodle", "1234568", "Zoë Müller", False, 0, None, "outputs_v2.zip")),
    ("Mary_Jane O'Neil_1234570_assignsubmission_file_hw_2_final.zip",  # a Moodle before 3.1
     ("moodle", "1234570", "Mary_Jane O'Neil", False, 0, None, "hw_2_final.zip")),
    ("Participant_1234569_assignsubmission_file", ("moodle", "1234569", "Participant", False, 0, None, None)),
    ("e0000001a", ("plain", "e0000001a", None, False, 0, None, None)),
    ("e0000007g.ZIP", ("plain", "e0000007g", None, False, 0, None, None)),
    ("smith_john", ("plain", "smith_john", None, False, 0, None, None)),
    ("hw_2_final.zip", ("plain", "hw_2_final", None, False, 0, None, None)),
])
def test_names(entry, expected):
    assert parsed(entry) == expected


def test_a_known_user_id_chooses_between_splits():
    entry = "abc_12_345_678_out.zip"  # user 12 with upload 345, or user 345 with upload 678
    assert parsed(entry)[1:3] == ("12", "abc")
    assert parsed(entry, known_keys={"345"})[1:3] == ("345", "abc_12")
    assert parsed(entry, known_keys={"999"})[1] == "12"


@pytest.mark.parametrize("file, attempt", [
    ("hw2.zip", 0), ("hw2-1.zip", 1), ("hw2-7.zip", 7), ("outputs-3.tar.gz", 3), ("a-1", 1),
    ("hw2-0b4c1e2a-1f2d-4c3b-9a8e-77c6d5e4f3a2.zip", 8), ("cnn-2017.zip", 0), ("notes.v2-1.txt", 1),
])
def test_canvas_attempt(file, attempt):
    assert canvas_attempt(file) == attempt


CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section\n"
    "    Points Possible,,,,\n"
    '"Smith, John",12345,e0000001a,jsmith,L1\n'
    '"Tan, Wei Ling",12346,e0000002b,tanwl,L1\n'
    '"Ng, Siew Mei",12347,e0000003c,ngsm,L1\n'
    '"Müller, Zoë",12348,e0000004d,zm,L1\n'
)


@pytest.fixture
def canvas_roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(CANVAS_ROSTER, encoding="utf-8")
    return read_roster(path)


def test_canvas_download_with_a_resubmission_and_an_unknown_entry(canvas_roster):
    entries = [
        "smithjohn_12345_678901_hw2.zip",
        "smithjohn_LATE_12345_679100_hw2-1.zip",  # uploaded again after the deadline
        "tanweilingx_12346_678950_outputs.zip",  # name changed since: the user id decides
        "müllerzoë_99999_678990_outputs.zip",  # a user id the export does not know: by name
        "someoneelse_55555_678999_out.zip",
    ]
    grouping = group_by_student(entries, canvas_roster)
    by_student = {g.student: g for g in grouping.students}
    assert list(by_student) == ["e0000001a", "e0000002b", "e0000004d"]  # roster order
    smith = by_student["e0000001a"]
    assert smith.latest.entry == "smithjohn_LATE_12345_679100_hw2-1.zip"
    assert smith.latest.late and smith.latest.attempt == 1
    assert [o.entry for o in smith.others] == ["smithjohn_12345_678901_hw2.zip"]
    assert smith.order_known and smith.matched_by == "id"
    assert by_student["e0000004d"].matched_by == "name"
    [unknown] = grouping.unmatched
    assert unknown.entry.entry == "someoneelse_55555_678999_out.zip"
    assert unknown.why == "no roster student has the Canvas ID 55555 or the name 'someoneelse'"


def test_latest_is_the_larger_upload_id_whatever_the_names_sort_as(canvas_roster):
    grouping = group_by_student(["ngsm_12347_700000_b.zip", "ngsm_12347_690000_c-3.zip"], canvas_roster)
    [ng] = grouping.students
    assert ng.latest.entry == "ngsm_12347_700000_b.zip"


def test_plain_folder_and_zip_of_one_student_cannot_be_ordered(canvas_roster):
    grouping = group_by_student(["e0000003c", "e0000003c.zip", "tanwl", "E0000009z"], canvas_roster)
    assert [(g.student, g.latest.entry, [o.entry for o in g.others], g.order_known)
            for g in grouping.students] == [
        ("e0000002b", "tanwl", [], True),  # matched by login
        ("e0000003c", "e0000003c.zip", ["e0000003c"], False),
    ]
    assert [(u.entry.entry, u.why) for u in grouping.unmatched] == [
        ("E0000009z", "no roster student has the id 'E0000009z'")]


def test_moodle_download_matches_participant_ids_then_names(tmp_path):
    path = tmp_path / "worksheet.csv"
    path.write_text("Identifier,Full name,Email address\n"
                    "Participant 1234567,Jane Doe,jd@x.edu\n"
                    "Participant 1234568,Zoë Müller,zm@x.edu\n", encoding="utf-8")
    roster = read_roster(path)
    entries = ["Jane Doe_1234567_assignsubmission_file",
               "Zoe\u0308 Mu\u0308ller_7654321_assignsubmission_file_",  # NFD name, other id
               "Participant_1111111_assignsubmission_file"]
    grouping = group_by_student(entries, roster)
    assert [(g.student, g.matched_by) for g in grouping.students] == [
        ("jd@x.edu", "id"), ("zm@x.edu", "name")]
    [blind] = grouping.unmatched
    assert blind.why == "no roster student has the participant id 1111111 or the name 'Participant'"


def test_anonymous_canvas_entries_match_nobody(canvas_roster):
    grouping = group_by_student(["anon_aB3dE_678970_hw2.zip"], canvas_roster)
    assert grouping.students == ()
    assert grouping.unmatched[0].why == "anonymous Canvas submission: no user id in its name"


def test_without_a_roster_entries_group_by_their_key():
    grouping = group_by_student(["smithjohn_12345_2_a.zip", "smithjohn_12345_1_a.zip",
                                 "Jane Doe_77_assignsubmission_file", "e01"])
    assert [(g.student, g.latest.entry, len(g.others)) for g in grouping.students] == [
        ("12345", "smithjohn_12345_2_a.zip", 1), ("77", "Jane Doe_77_assignsubmission_file", 0),
        ("e01", "e01", 0)]
    assert grouping.unmatched == ()
