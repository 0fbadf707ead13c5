"""Many students' expected outputs at once (generate.compute_expected_many, ops.run_many): the same
bytes as running each student's problems on their own, for every spec cnngrade ships, on
per-student draws and on random inputs, across the groups the students are computed in."""
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import generate, ops
from grader.assignment.generate import compute_expected, compute_expected_many, make_inputs
from grader.assignment.per_student import Secret, student_draw
from grader.assignment.spec import load_spec
from grader.batch import peer_flags

ROOT = Path(__file__).resolve().parents[1]
SPECS = [ROOT / "assignment.toml", *sorted((ROOT / "examples" / "specs").glob("*.toml"))]
SECRET = Secret(b"5f1c0e6ab2d94f7d8c3e21a0b6f4c9d27e8a1b3c5d7f9e0a2c4b6d8f0e1a3c5b")


def one_by_one(assignment, inputs):
    """Expected outputs of one student as compute_expected made them before it was grouped:
    each problem through ops.run on its own, dropout train outputs left out."""
    expected = {}
    for problem in assignment.problems:
        results = ops.run(problem, {spec.role: inputs[spec.file] for spec in problem.inputs},
                          dropout_seed=0, exact=True)
        expected.update({spec.file: results[spec.role] for spec in problem.outputs
                         if not spec.statistical})
    return expected


def random_inputs(assignment, rng):
    """Inputs of the spec's shapes with magnitudes spread over 2**-30..2**30."""
    return {spec.file: rng.standard_normal(spec.shape) * 2.0 ** rng.integers(-30, 31, spec.shape)
            for spec in assignment.inputs}


def assert_same_outputs(got, want):
    assert list(got) == list(want)
    for file in want:
        assert got[file].shape == want[file].shape, file
        assert np.array_equal(got[file].view(np.int64), want[file].view(np.int64)), file


@pytest.fixture(params=SPECS, ids=lambda path: path.stem)
def assignment(request):
    return load_spec(request.param)


def test_many_students_are_each_computed_on_their_own_inputs(assignment, monkeypatch):
    """Per-student draws, random inputs and the shared inputs, in groups of 4 (so 11 students
    make groups of 4, 4 and 3): each the bytes of its own run."""
    monkeypatch.setattr(generate, "_GROUP_STUDENTS", 4)
    rng = np.random.default_rng(231)
    inputs_list = ([student_draw(assignment, SECRET, f"s{k:02d}").inputs for k in range(6)]
                   + [random_inputs(assignment, rng) for _ in range(4)] + [make_inputs(assignment)])
    many = compute_expected_many(assignment, inputs_list)
    assert len(many) == len(inputs_list)
    for got, inputs in zip(many, inputs_list):
        assert_same_outputs(got, one_by_one(assignment, inputs))
        assert_same_outputs(compute_expected(assignment, inputs), got)
    # Every output differs from student to student: a group that handed one student's outputs to
    # another would fail the comparison above.
    for file in many[0]:
        assert len({e[file].tobytes() for e in many}) == len(many), file


def test_each_student_gets_the_results_of_their_own_weights():
    """Two students' conv weights swapped: the outputs that depend on the weights change (and are
    those of the student's new inputs), the others (dw and db too) stay as they were."""
    assignment = load_spec(ROOT / "assignment.toml")
    first, second = (student_draw(assignment, SECRET, sid).inputs for sid in ("e001", "e002"))
    swapped = [dict(first), dict(second)]
    for file in ("conv_forward_in_w", "conv_backward_in_w"):
        swapped[0][file], swapped[1][file] = second[file], first[file]
    before = compute_expected_many(assignment, [first, second])
    after = compute_expected_many(assignment, swapped)
    for student in (0, 1):
        assert_same_outputs(after[student], one_by_one(assignment, swapped[student]))
        for file, array in after[student].items():
            changed = not np.array_equal(array, before[student][file])
            assert changed == (file in {"conv_forward_out", "conv_backward_out_dx"}), file


def test_a_default_group_of_students_and_none():
    """The default group size (several groups of the default assignment), and no students."""
    assignment = load_spec(ROOT / "assignment.toml")
    inputs_list = [student_draw(assignment, SECRET, f"g{k:03d}").inputs
                   for k in range(generate._GROUP_STUDENTS + 3)]
    for got, inputs in zip(compute_expected_many(assignment, inputs_list), inputs_list):
        assert_same_outputs(got, one_by_one(assignment, inputs))
    assert compute_expected_many(assignment, []) == []


def test_run_many_gives_dropout_test_outputs_only():
    """Train-mode outputs depend on a random mask and are judged statistically: run_many leaves
    them out rather than give values no single student's run would."""
    assignment = load_spec(ROOT / "assignment.toml")
    inputs = make_inputs(assignment)
    for name, outputs in (("dropout_forward", {"out_test"}), ("dropout_backward", {"dx_test"})):
        problem = assignment.problem(name)
        arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
        (results,) = ops.run_many(problem, [arrays])
        assert set(results) == outputs
        for role in outputs:
            assert_same_outputs({role: results[role]},
                                {role: ops.run(problem, arrays, exact=True)[role]})


def test_the_peer_index_rows_are_each_students_expected_outputs():
    """first_draws_expected, computed many students a call, gives each roster student's own."""
    assignment = load_spec(ROOT / "assignment.toml")
    roster = [f"r{k:03d}" for k in range(peer_flags._ROWS_PER_TASK + 5)]
    rows = peer_flags.first_draws_expected(assignment, SECRET, roster, jobs=1)
    assert len(rows) == len(roster)
    for sid, row in zip(roster, rows):
        assert_same_outputs(row, one_by_one(assignment,
                                            student_draw(assignment, SECRET, sid).inputs))
