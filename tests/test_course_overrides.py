"""overrides.csv: read against the assignment's outputs and the class (test_course_apply.py
applies them)."""
import re

import pytest

from grader.course.overrides import read_overrides
from grader.course.roster import read_roster
from grader.errors import GraderError
from grader.assignment.spec import load_spec

from simulated import SPEC


@pytest.fixture(scope="module")
def outputs():
    return {o.file: o.points for o in load_spec(SPEC).outputs}


def write(tmp_path, text, name="overrides.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_and_resolve_through_the_roster(tmp_path, outputs):
    roster = read_roster(write(tmp_path, "id,name,email\ne0000003c,Ng,ngsm@u.edu\ne0000004d,Lee,lee@u.edu\n",
                               "roster.csv"))
    path = write(tmp_path, "Student , Output,POINTS,reason,grader\n"
                           "NGSM@u.edu,conv_backward_out_dx.csv,1,\"F order was allowed, see forum\",TA1\n"
                           "\n"
                           "e0000004d,,8.5,regrade request,TA2\n")
    first, second = read_overrides(path, outputs, roster=roster)
    assert (first.student, first.output, first.points, first.reason, first.line) == (
        "e0000003c", "conv_backward_out_dx", 1.0, "F order was allowed, see forum", 2)
    assert (second.student, second.output, second.points, second.line) == ("e0000004d", None, 8.5, 4)


def test_without_a_roster_students_match_submission_ids(tmp_path, outputs):
    path = write(tmp_path, "student,output,points,reason\nE0000003C,,9,appeal\n")
    [override] = read_overrides(path, outputs, known_ids=["e0000001a", "e0000003c"])
    assert override.student == "e0000003c"
    [as_written] = read_overrides(path, outputs)
    assert as_written.student == "E0000003C"


@pytest.mark.parametrize("rows, message", [
    ("e9,,5,x", "line 2: no submission has the id 'e9'"),
    (",,5,x", "line 2: the student is empty"),
    ("e1,conv_forward,1,x", "line 2: 'conv_forward' is not an output of the assignment: expected "
                            "one of conv_forward_out, conv_backward_out_dx"),
    ("e1,conv_forward_out,1.5,x", "line 2: points 1.5 is outside 0 to 1, the maximum of conv_forward_out"),
    ("e1,,11,x", "line 2: points 11 is outside 0 to 10, the maximum score"),
    ("e1,,-1,x", "line 2: points -1 is outside 0 to 10"),
    ("e1,,nan,x", "line 2: points nan is outside 0 to 10"),
    ("e1,,full,x", "line 2: points 'full' is not a number"),
    ("e1,,,x", "line 2: points '' is not a number"),
    ("e1,,5,", "line 2: the reason is empty: say why, the student will see it"),
    ("e1,,5,a\ne1,,6,b", "line 3: a second override of the total for 'e1' (the first is on line 2)"),
    ("e1,conv_forward_out,1,a\nE1,conv_forward_out.csv,0,b",
     "line 3: a second override of conv_forward_out for 'E1' (the first is on line 2)"),
])
def test_errors_name_the_file_and_line(tmp_path, outputs, rows, message):
    path = write(tmp_path, "student,output,points,reason\n" + rows + "\n")
    with pytest.raises(GraderError) as e:
        read_overrides(path, outputs, known_ids=["e1"])
    assert str(e.value).startswith(f"{path}, {message}")


def test_a_missing_column_names_what_is_needed(tmp_path, outputs):
    path = write(tmp_path, "student,points,comment\ne1,5,x\n")
    with pytest.raises(GraderError, match=re.escape(
            "no column 'output', 'reason': the overrides need student, output, points, reason "
            "(found 'student', 'points', 'comment')")):
        read_overrides(path, outputs)


def test_roster_student_unknown(tmp_path, outputs):
    roster = read_roster(write(tmp_path, "id\ne1\n", "roster.csv"))
    path = write(tmp_path, "student,output,points,reason\ne2,,1,x\n")
    with pytest.raises(GraderError, match="line 2: student 'e2' is not on the roster"):
        read_overrides(path, outputs, roster=roster)
