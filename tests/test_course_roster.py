"""The roster: Canvas's gradebook export, Moodle's grading worksheet and plain tables."""
import re

import pytest

from grader.course.roster import name_keys, name_slug, read_roster
from grader.errors import GraderError

# Laid out as canvas-lms lib/gradebook_exporter.rb writes it: the header, the Manual Posting row
# (an assignment posts grades manually), the Points Possible row with its four leading spaces,
# the students by sortable name, Canvas's Test Student last.
CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Assignment 2 - Building CNNs (4417),"
    "Current Score,Unposted Current Score,Final Score,Unposted Final Score\n"
    ",,,,,Manual Posting,,,,\n"
    "    Points Possible,,,,,10.00,(read only),(read only),(read only),(read only)\n"
    '"Smith, John",12345,e0000001a,jsmith@u.nus.edu,CS5242 L1,8.00,80.00,80.00,80.00,80.00\n'
    '"Tan, Wei Ling",12346,e0000002b,tanwl@u.nus.edu,"CS5242 L1 and CS5242 T2",N/A,,,,\n'
    '"Ng, Siew Mei",12347,,ngsm@u.nus.edu,CS5242 L1,,,,,\n'
    '"Student, Test",99999,,,CS5242 L1,,,,,\n'
)

MOODLE_WORKSHEET = (
    "Identifier,\"Full name\",\"Email address\",\"ID number\",Status,Grade,\"Maximum Grade\","
    "\"Grade can be changed\",\"Last modified (submission)\",\"Last modified (grade)\",\"Feedback comments\"\n"
    "\"Participant 1234567\",\"Zoë Müller\",zoe@example.edu,A0001,\"Submitted for grading\",,10.00,Yes,"
    "\"Tuesday, 29 September 2026, 10:12 PM\",-,\n"
    "\"Participant 1234568\",\"Jan de Vries\",jan@example.edu,,\"No submission\",,10.00,Yes,-,-,\n"
)


def write(tmp_path, text, name="roster.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_canvas_export_skips_rows_that_are_not_students(tmp_path):
    roster = read_roster(write(tmp_path, CANVAS_EXPORT))
    assert roster.kind == "canvas"
    assert [s.name for s in roster] == ["Smith, John", "Tan, Wei Ling", "Ng, Siew Mei"]
    assert [why for _, why in roster.skipped] == [
        "Canvas's Manual Posting (muted) row", "Canvas's Points Possible row", "Canvas's Test Student"]
    assert [row for row, _ in roster.skipped] == [2, 3, 7]
    smith = roster.students[0]
    assert (smith.key, smith.canvas_id, smith.sis_user_id, smith.sis_login_id, smith.section, smith.row) == (
        "e0000001a", "12345", "e0000001a", "jsmith@u.nus.edu", "CS5242 L1", 4)


def test_canvas_key_falls_back_to_login_then_canvas_id(tmp_path):
    roster = read_roster(write(tmp_path, CANVAS_EXPORT))
    assert roster.students[2].key == "ngsm@u.nus.edu"  # no SIS User ID
    no_sis = ("Student,ID,SIS Login ID,Section\n"  # a TA's export has no SIS User ID column
              "    Points Possible,,,\n"
              '"Lee, Ann",501,,S1\n')
    assert read_roster(write(tmp_path, no_sis, "ta.csv")).students[0].key == "501"


def test_canvas_muted_row_of_old_exports_and_last_first_names(tmp_path):
    text = ("LastName,FirstName,ID,SIS User ID,SIS Login ID,Section,HW (12)\n"
            ",,,,,,Muted\n"
            "    Points Possible,,,,,,10\n"
            "O'Brien,Seán,12,s1,sob,A,9\n")
    roster = read_roster(write(tmp_path, text))
    assert roster.kind == "canvas"
    assert [(s.name, s.key) for s in roster] == [("O'Brien, Seán", "s1")]
    assert len(roster.skipped) == 2


def test_find_maps_every_id_of_a_student_to_them(tmp_path):
    roster = read_roster(write(tmp_path, CANVAS_EXPORT))
    smith = roster.students[0]
    for identifier in ("e0000001a", "E0000001A", " 12345 ", "JSmith@u.nus.edu"):
        assert roster.find(identifier) is smith
    assert roster.find("12345", kinds=("canvas_id",)) is smith
    assert roster.find("e0000001a", kinds=("canvas_id",)) is None
    assert roster.find("e0999999z") is None
    assert roster.find("") is None


def test_an_id_two_students_share_across_kinds_is_refused_at_lookup(tmp_path):
    text = "id,name,email,login\n1001,Ann Lee,ann@x.edu,bob\nbob,Bob Tan,bob@x.edu,btan\n"
    roster = read_roster(write(tmp_path, text))
    assert roster.find("1001").name == "Ann Lee"
    with pytest.raises(GraderError, match=r"'bob' is ambiguous: it is the id of row 3 and the "
                                          r"SIS Login ID of row 2"):
        roster.find("bob")
    assert roster.find("bob", kinds=("email", "sis_login_id")).name == "Ann Lee"


def test_moodle_worksheet_gives_participant_ids(tmp_path):
    roster = read_roster(write(tmp_path, MOODLE_WORKSHEET))
    assert roster.kind == "moodle"
    zoe, jan = roster.students
    assert (zoe.key, zoe.participant_id, zoe.email, zoe.name) == ("A0001", "1234567", "zoe@example.edu", "Zoë Müller")
    assert jan.key == "jan@example.edu"  # no ID number: the email
    assert roster.find("1234568", kinds=("participant_id",)) is jan


@pytest.mark.parametrize("header", ["Student ID,Name,E-mail", " student_id ,full name,Email Address",
                                    "STUDENT-NUMBER,Student Name,email"])
def test_plain_columns_are_found_by_common_names(tmp_path, header):
    text = f"{header}\ne0000001a,John Smith,js@x.edu\n\n,,\ne0000002b,\"Tan, Wei Ling\",wl@x.edu\n"
    roster = read_roster(write(tmp_path, text))
    assert roster.kind == "plain"
    assert [(s.key, s.name, s.email, s.row) for s in roster] == [
        ("e0000001a", "John Smith", "js@x.edu", 2), ("e0000002b", "Tan, Wei Ling", "wl@x.edu", 5)]


def test_plain_first_and_last_names_semicolons_and_a_bom(tmp_path):
    text = "\ufeffMatric No;First Name;Surname;Section\nA0123;Zoë;Müller;T1\n"
    roster = read_roster(write(tmp_path, text))
    assert [(s.key, s.name, s.section) for s in roster] == [("A0123", "Zoë Müller", "T1")]


def test_ids_keep_their_leading_zeros(tmp_path):
    roster = read_roster(write(tmp_path, "id,name\n007,James\nNA,Nadia\n"))
    assert [s.key for s in roster] == ["007", "NA"]


def test_email_alone_is_an_id(tmp_path):
    roster = read_roster(write(tmp_path, "Email,Name\nann@x.edu,Ann\n"))
    assert roster.students[0].key == "ann@x.edu"


def test_no_id_column_names_the_file_and_what_was_found(tmp_path):
    path = write(tmp_path, "who,score\nann,3\n")
    with pytest.raises(GraderError) as e:
        read_roster(path)
    assert str(e.value).startswith(f"{path}: no column of student ids: name one 'id', 'student id'")
    assert "(found 'who', 'score')" in str(e.value)


def test_a_student_without_id_names_the_row_and_column(tmp_path):
    path = write(tmp_path, "Student ID,Name\nA1,Ann\n,Bob\n")
    with pytest.raises(GraderError) as e:
        read_roster(path)
    assert str(e.value) == f"{path}, line 3: column 'Student ID' is empty: every student needs an id"


def test_two_rows_with_one_id_are_refused(tmp_path):
    path = write(tmp_path, "id,email\nA1,a@x.edu\nA2,A@x.edu\n")
    with pytest.raises(GraderError, match=r"rows 2 and 3 share the email 'A@x.edu'"):
        read_roster(path)


def test_bad_participant_identifier(tmp_path):
    path = write(tmp_path, "Identifier,Full name\nSomeone,Ann\n")
    with pytest.raises(GraderError, match=r"line 2: column 'Identifier': 'Someone' is not 'Participant <number>'"):
        read_roster(path)


@pytest.mark.parametrize("content, message", [
    (b"", "the roster is empty"),
    (b"id,name\n\xe9t\xe9,x\n", "the roster is not UTF-8 text (byte 0xe9); save it as 'CSV UTF-8'"),
    (b"id,name\n", "the roster lists no student"),
    (b'id,name\n"unterminated,x\n', "the roster is not a readable CSV table"),
])
def test_unreadable_rosters(tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(GraderError, match=re.escape(message)):
        read_roster(path)


def test_missing_roster_file(tmp_path):
    with pytest.raises(GraderError, match="cannot read the roster: No such file"):
        read_roster(tmp_path / "none.csv")


def test_names_match_in_either_order_and_any_normal_form(tmp_path):
    text = "id,name\n1,John Smith\n2,\"Müller, Zoë\"\n3,Ann Lee\n4,Ann  Lee\n"
    roster = read_roster(write(tmp_path, text))
    assert roster.find_by_name("smithjohn").key == "1"
    assert roster.find_by_name("Smith, John").key == "1"
    assert roster.find_by_name("Zoe\u0308 Mu\u0308ller").key == "2"  # NFD, as macOS unzips names
    assert roster.find_by_name("müllerzoë").key == "2"
    assert roster.find_by_name("Ann Lee") is None  # two students: no guess
    assert roster.find_by_name("Nobody") is None


def test_name_slug_is_canvas_download_form():
    assert name_slug("Smith, John") == "smithjohn"
    assert name_slug("O'Brien-Ng, Seán") == "obrienngseán"
    assert name_keys("John Smith") == {"johnsmith", "smithjohn"}
    assert name_keys("  ") == set()


def test_frame_has_one_row_per_student(tmp_path):
    frame = read_roster(write(tmp_path, CANVAS_EXPORT)).frame()
    assert list(frame["key"]) == ["e0000001a", "e0000002b", "ngsm@u.nus.edu"]
    assert list(frame["canvas_id"]) == ["12345", "12346", "12347"]
