"""The gradebook CSV: column order, LMS-ready bytes, round trip, formula neutralising."""
import io

import pandas as pd
import pytest

from grader.report.gradebook import (format_number, gradebook_csv, gradebook_frame, neutralise,
                              write_gradebook)
from grader.results import BatchResult
from test_report import (GENERATED_AT, assignment, failing, make_class, missing, passing,
                         submission, unreadable)


@pytest.fixture(scope="module")
def spec():
    return assignment()


@pytest.fixture(scope="module")
def batch(spec):
    return make_class(spec)


def read_back(path_or_text):
    source = io.StringIO(path_or_text) if isinstance(path_or_text, str) else path_or_text
    return pd.read_csv(source, dtype={"id": str, "error": str}, keep_default_na=False,
                       na_values={c: [""] for c in ()})


def test_columns_follow_the_spec(spec, batch):
    frame = gradebook_frame(batch, spec)
    assert list(frame.columns) == ["id", "total", "max", "percent",
                                   *[o.file for o in spec.outputs], "error", "notes"]
    assert list(frame.columns[4:-2]) == [
        "conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw", "conv_backward_out_db",
        "maxpool_forward_out", "maxpool_backward_out", "dropout_forward_out_train",
        "dropout_forward_out_test", "dropout_backward_out_train", "dropout_backward_out_test"]
    assert len(frame) == len(batch.submissions)
    assert frame["total"].dtype == "float64" and frame["conv_forward_out"].dtype == "float64"


def test_rows_hold_the_scores(spec):
    outputs = spec.outputs
    checks = [passing(o) for o in outputs]
    checks[1] = failing(outputs[1], "column_major")
    checks[5] = missing(outputs[5])
    batch = BatchResult(spec.name, [submission("e0123456g", checks),
                                    unreadable("e0000000x", spec, "not a zip file")], GENERATED_AT)
    frame = gradebook_frame(batch, spec)
    first = frame.iloc[0]
    assert (first["id"], first["total"], first["max"], first["percent"]) == ("e0123456g", 8, 10, 80)
    assert first["conv_backward_out_dx"] == 0 and first["conv_forward_out"] == 1
    assert first["error"] == ""
    second = frame.iloc[1]
    assert second["total"] == 0 and second["error"] == "not a zip file"


def test_bytes_are_lms_ready_and_deterministic(spec, batch, tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, batch, spec)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    assert b"\r\n" not in data and data.endswith(b"\n")
    data.decode("utf-8")
    lines = data.decode("utf-8").split("\n")
    assert lines[0].startswith("id,total,max,percent,conv_forward_out,")
    assert len(lines) == len(batch.submissions) + 2  # header, rows, the final empty string
    write_gradebook(path, batch, spec)
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]  # no temporary file left


def test_number_formatting():
    assert format_number(7.0) == "7"
    assert format_number(200 / 3) == "66.6667"
    assert format_number(1 / 3) == "0.3333"
    assert format_number(0.00004) == "0"
    assert format_number(-0.00001) == "0"  # never "-0"
    assert format_number(-1.5) == "-1.5"
    assert format_number(float("nan")) == ""
    assert format_number(None) == ""


def test_round_trip_with_pandas(spec, batch, tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, batch, spec)
    back = read_back(path)
    frame = gradebook_frame(batch, spec)
    assert list(back.columns) == list(frame.columns)
    assert list(back["id"]) == list(frame["id"])
    assert list(back["error"]) == list(frame["error"])
    numeric = [c for c in frame.columns if c not in ("id", "error")]
    pd.testing.assert_frame_equal(back[numeric], frame[numeric].round(4), check_dtype=False)


@pytest.mark.parametrize("hostile", [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
])
def test_student_cells_are_neutralised(spec, hostile):
    checks = [passing(o) for o in spec.outputs]
    sub = submission(hostile, checks)
    broken = unreadable("e1", spec, hostile)
    text = gradebook_csv(BatchResult(spec.name, [sub, broken], GENERATED_AT), spec)
    back = read_back(text)
    assert back["id"][0] == "'" + hostile
    assert back["error"][1] == "'" + hostile.strip() if hostile[0] in "\t\r " else "'" + hostile
    # No cell of the file starts a formula.
    for row in back.itertuples(index=False):
        for value in row:
            if isinstance(value, str):
                assert not value.startswith(("=", "+", "@", "\t", "\r")), value
                assert not value.startswith("-") or _is_number(value)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_safe_text_is_left_alone():
    for text in ("e0123456g", "O'Brien", "a=b", "1+1", "", "ünïcode"):
        assert neutralise(text) == text
    assert neutralise(None) == ""


def test_our_negative_numbers_stay_numbers(spec):
    checks = [passing(o) for o in spec.outputs]
    checks[0].score = -1.0  # a penalty, say: ours, so written as a number
    sub = submission("e1", checks)
    text = gradebook_csv(BatchResult(spec.name, [sub], GENERATED_AT), spec)
    row = text.split("\n")[1].split(",")
    assert row[:5] == ["e1", "8", "10", "80", "-1"]
    assert read_back(text)["conv_forward_out"][0] == -1.0


def test_error_text_stays_on_one_line(spec):
    broken = unreadable("e1", spec, "x.zip: bad\nentry\r\n  here, \"quoted\"")
    text = gradebook_csv(BatchResult(spec.name, [broken], GENERATED_AT), spec)
    assert text.count("\n") == 2
    assert read_back(text)["error"][0] == 'x.zip: bad entry here, "quoted"'


def test_notes_reach_the_gradebook_on_one_line_capped_and_neutralised(spec, batch):
    sub = batch.submissions[0]
    sub.notes = ["=cmd|' /C calc'!A0 is not an output file"] + [f"note {i}\nline" for i in range(7)]
    row = gradebook_frame(batch, spec).iloc[0]
    assert row["notes"].startswith("'=cmd")
    assert "note 3 line" in row["notes"] and "note 4" not in row["notes"]
    assert row["notes"].endswith("and 3 more") and "\n" not in row["notes"]
