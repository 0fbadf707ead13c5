"""Fuzzing: a few hundred hostile files and submissions (hypothesis, derandomized so that CI runs
the same cases every time) never crash the grader, never hang it, and always give a valid result.
The longer campaign is scripts/fuzz_campaign.py."""
import json
import random
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.errors import SubmissionError
from grader.pipeline import grade_submission
from grader.limits import grading_limits
from grader.intake.reading import parse_array
from grader.report.render import render_feedback

from mutations import ODD_TOKENS, mutate_bytes, problems, write_mutated
from grader.simulate import correct_outputs, texts
from test_batch import run_batch

SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SHAPE = (4, 5)

numbers = st.floats(allow_nan=True, allow_infinity=True).map(lambda v: repr(v).encode())
tokens = st.one_of(numbers, st.sampled_from(ODD_TOKENS), st.binary(max_size=6),
                   st.sampled_from([b",", b" ", b"\n", b"\r\n", b"\t"]))
texts_of_tokens = st.lists(tokens, max_size=60).map(b"".join)


_CORRECT = {}  # a few correct students' files (name -> bytes), made once


def correct_files(context, seed):
    if seed % 5 not in _CORRECT:
        outputs = correct_outputs(context.assignment, context.inputs, seed % 5)
        _CORRECT[seed % 5] = {name: text.encode()
                              for name, text in texts(context.assignment, outputs).items()}
    return _CORRECT[seed % 5]


def well_formed(seed):
    values = np.random.default_rng(seed).normal(size=SHAPE)
    return "".join(f"{v:.18e}\n" for v in values.ravel()).encode()


@settings(max_examples=300, **SETTINGS)
@given(st.one_of(st.binary(max_size=3000), texts_of_tokens,
                 st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(
                     lambda s: mutate_bytes(random.Random(s[0]), well_formed(s[1])))))
def test_reading_any_bytes_gives_values_or_a_located_refusal(data):
    try:
        with grading_limits(10):
            values = parse_array(data, "out.csv", SHAPE)
    except SubmissionError as e:
        assert e.code in ("parse_error", "nonfinite", "wrong_count")
        assert e.path == "out.csv" and e.message.isprintable()
        if e.line is not None:
            assert 1 <= e.line <= data.count(b"\n") + data.count(b"\r") + 1
        return
    assert values.shape == SHAPE and values.dtype == np.float64 and np.isfinite(values).all()


@settings(max_examples=200, **SETTINGS)
@given(st.integers(0, 2**32 - 1))
def test_mutated_submissions_grade_to_valid_results(context, seed):
    assignment = context.assignment
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = write_mutated(rng, Path(tmp) / "e01", correct_files(context, seed))
        with grading_limits(20):  # a hang would stop here, and fail below
            result = grade_submission(path, context)
        assert problems(result, assignment) == []
        page = render_feedback(result, assignment, "2026-01-01 00:00:00 UTC")
        assert "\x1b" not in page and "<script" not in page.lower()


def test_a_mutated_class_grades_into_valid_reports(tmp_path, context):
    assignment = context.assignment
    rng = random.Random(2017)
    root = tmp_path / "class"
    root.mkdir()
    for i in range(30):
        write_mutated(rng, root / f"e{i:03d}", correct_files(context, i))
    batch = run_batch(root, tmp_path / "out", jobs=2)
    assert len(batch.submissions) == 30
    for submission in batch.submissions:
        assert problems(submission, assignment) == [], submission.id
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [s["id"] for s in data["submissions"]] == [s.id for s in batch.submissions]
    assert len(pd.read_csv(tmp_path / "out" / "gradebook.csv")) == 30
    pages = sorted((tmp_path / "out" / "feedback").glob("*.html"))
    assert len(pages) == 30 and all("\x1b" not in p.read_text() for p in pages)
