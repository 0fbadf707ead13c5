"""Batch flags: copied dropout masks and copied expected files are flagged with their odds;
independent correct students never are, however many; flags never change a score."""
import math
import re

import numpy as np
import pytest

import loops
from grader.flags import find_flags, independent_shas, pair_log10_probability
from grader.grade import grade_submission
from grader.results import CheckResult, SubmissionResult

from simulated import EXPECTED, correct_outputs, texts, write_submission

CLASS_SIZE = 200
# Deterministic outputs whose expected bytes no independent implementation reproduces (their
# values carry the reference's own rounding); the others are written byte-identically by any
# correct float64 code (a max, a copy, the identity, NumPy's own sum).
FINGERPRINT_OUTPUTS = {"conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw"}


def rows_text(array):
    return "".join(" ".join("%.18e" % v for v in row) + "\n" for row in array)


def train_outputs(assignment, inputs, keeps):
    """output file -> train output text for the masks ``keeps`` (output file -> keep mask)."""
    files = {}
    for problem in assignment.problems:
        if not problem.op.startswith("dropout"):
            continue
        role = "x" if problem.op == "dropout_forward" else "dout"
        source = inputs[next(i.file for i in problem.inputs if i.role == role)]
        train = next(o for o in problem.outputs if o.statistical)
        files[train.file] = rows_text(source * keeps[train.file] / (1 - problem.drop_prob))
    return files


def fresh_keeps(assignment, rng):
    return {o.file: rng.random(o.shape) >= assignment.problem(o.problem).drop_prob
            for o in assignment.outputs if o.statistical}


def grade_files(tmp_path, context, student, files):
    folder = write_submission(tmp_path / student / "output_files",
                              {name + ".csv": text for name, text in files.items()})
    return grade_submission(folder.parent, context, submission_id=student)


@pytest.fixture(scope="module")
def independent_class(tmp_path_factory, context, assignment, inputs):
    """CLASS_SIZE correct students, each with its own fresh dropout masks (train outputs only)."""
    root = tmp_path_factory.mktemp("class")
    results = []
    for i in range(CLASS_SIZE):
        keeps = fresh_keeps(assignment, np.random.default_rng([2026, i]))
        results.append(grade_files(root, context, f"s{i:03d}", train_outputs(assignment, inputs, keeps)))
    return results


def flags_of(results):
    return {r.id: [(f.code, f.output, sorted(f.with_)) for f in r.flags] for r in results if r.flags}


def test_independent_correct_students_are_never_flagged(independent_class, context, assignment, inputs):
    results = [r for r in independent_class]
    assert all(c.status == "pass" for r in results for c in r.checks if c.output.endswith("_train"))
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {}


def test_copied_masks_are_flagged_with_the_others_and_the_odds(tmp_path, independent_class, context,
                                                                assignment, inputs):
    results = list(independent_class)
    base = {r.id: r for r in results}
    rng = np.random.default_rng([99, 1])  # not a seed students fix (default_rng(99) is)
    shared = fresh_keeps(assignment, rng)
    copier = grade_files(tmp_path, context, "copier", train_outputs(assignment, inputs, shared))
    source = grade_files(tmp_path, context, "source", train_outputs(assignment, inputs, shared))
    # Three students share only the backward mask.
    trio_keep = fresh_keeps(assignment, rng)["dropout_backward_out_train"]
    trio = []
    for name in ("t1", "t2", "t3"):
        keeps = fresh_keeps(assignment, rng)
        keeps["dropout_backward_out_train"] = trio_keep
        trio.append(grade_files(tmp_path, context, name, train_outputs(assignment, inputs, keeps)))
    everyone = [SubmissionResult(**{**vars(r), "flags": []}) for r in base.values()] + [copier, source] + trio
    find_flags(everyone, context.expected.manifest, assignment=assignment, inputs=inputs)
    flagged = flags_of(everyone)
    assert flagged == {
        "copier": [("identical_dropout_mask", "dropout_forward_out_train", ["source"]),
                   ("identical_dropout_mask", "dropout_backward_out_train", ["source"])],
        "source": [("identical_dropout_mask", "dropout_forward_out_train", ["copier"]),
                   ("identical_dropout_mask", "dropout_backward_out_train", ["copier"])],
        "t1": [("identical_dropout_mask", "dropout_backward_out_train", ["t2", "t3"])],
        "t2": [("identical_dropout_mask", "dropout_backward_out_train", ["t1", "t3"])],
        "t3": [("identical_dropout_mask", "dropout_backward_out_train", ["t1", "t2"])],
    }
    flag = copier.flags[0]
    check = next(c for c in copier.checks if c.output == "dropout_forward_out_train")
    n, q = check.details["tested"], 0.3
    power = math.floor(-n * math.log10(q * q + (1 - q) * (1 - q)))
    assert f"as source: two independent random masks of {n} units coincide with probability " \
           f"about 1 in 10^{power}" in flag.message
    assert power == 94  # 400 units at p = 0.3
    assert "seed" not in flag.message


def test_a_shared_common_seed_is_named(tmp_path, context, assignment, inputs):
    results = []
    for name in ("a", "b"):
        keeps = {}
        for o in assignment.outputs:
            if o.statistical:
                np.random.seed(0)
                keeps[o.file] = np.random.rand(*o.shape) >= assignment.problem(o.problem).drop_prob
        results.append(grade_files(tmp_path, context, name, train_outputs(assignment, inputs, keeps)))
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    messages = [f.message for f in results[0].flags]
    assert len(messages) == 2
    assert all("np.random.seed(0) with np.random.rand(*" in m and "shared fixed seed" in m
               for m in messages)
    # Without the assignment and inputs the flag stands, without the seed.
    for r in results:
        r.flags.clear()
    find_flags(results, context.expected.manifest)
    assert len(results[0].flags) == 2 and "seed" not in results[0].flags[0].message


def test_shared_masks_that_are_not_random_are_not_flagged(tmp_path, context, assignment, inputs):
    """The same bug made independently gives the same mask: a pattern, or nothing dropped."""
    results = []
    for name in ("r1", "r2", "r3"):
        keeps = {}
        for o in assignment.outputs:
            if o.statistical:
                p = assignment.problem(o.problem).drop_prob
                row = np.random.default_rng(5).random((1, o.shape[1])) >= p
                keeps[o.file] = np.broadcast_to(row, o.shape)  # one row's mask on every row
        results.append(grade_files(tmp_path, context, name, train_outputs(assignment, inputs, keeps)))
    for name in ("n1", "n2"):
        keeps = {o.file: np.ones(o.shape, bool) for o in assignment.outputs if o.statistical}
        results.append(grade_files(tmp_path, context, name, train_outputs(assignment, inputs, keeps)))
    assert all(c.status == "fail" for r in results for c in r.checks if c.output.endswith("_train"))
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {}


def _synthetic(student, dropped, tested, digest="abc"):
    check = CheckResult(output="dropout_forward_out_train", problem="dropout_forward", status="pass",
                        score=1.0, max_score=1.0, message="", size=tested,
                        details={"mask_sha256": digest, "dropped": dropped, "tested": tested,
                                 "file_sha256": student})
    return SubmissionResult(id=student, score=1.0, max_score=1.0, error=None, checks=[check])


def test_small_masks_coincide_too_often_to_flag():
    """Four units at p = 0.5 coincide by chance 1 time in 16: no evidence."""
    results = [_synthetic("a", 2, 4), _synthetic("b", 2, 4)]
    find_flags(results, None)
    assert flags_of(results) == {}
    assert pair_log10_probability(results[0].checks[0]) == pytest.approx(4 * math.log10(0.5))
    # 100 units: 1 in 10^30 per pair, far below chance even for a class of thousands.
    results = [_synthetic("a", 50, 100), _synthetic("b", 50, 100)]
    find_flags(results, None)
    assert [f.with_ for f in results[0].flags] == [["b"]]
    assert "1 in 10^30" in results[0].flags[0].message


def test_copied_expected_files_are_flagged_only_where_honest_code_differs(
        tmp_path, context, assignment, inputs):
    copied = {o.file: (EXPECTED / o.filename).read_text() for o in assignment.outputs
              if not o.statistical}
    copied.update(train_outputs(assignment, inputs, fresh_keeps(assignment, np.random.default_rng(1))))
    copier = grade_files(tmp_path, context, "copier", copied)

    # Honest students: plain loops in float64, and float32.
    outputs = correct_outputs(assignment, inputs, seed=3)
    arrays = {p.name: {s.role: inputs[s.file] for s in p.inputs} for p in assignment.problems}
    cf, cb = arrays["conv_forward"], arrays["conv_backward"]
    outputs["conv_forward_out"] = loops.conv_forward_loops(cf["x"], cf["w"], cf["b"], 2, 1)
    dx, dw, db = loops.conv_backward_loops(cb["dout"], cb["x"], cb["w"], 1, 1)
    outputs.update(conv_backward_out_dx=dx, conv_backward_out_dw=dw, conv_backward_out_db=db)
    outputs["maxpool_forward_out"] = loops.max_pool_forward_loops(
        arrays["maxpool_forward"]["x"], 2, 2, 2)
    outputs["maxpool_backward_out"] = loops.max_pool_backward_loops(
        arrays["maxpool_backward"]["dout"], arrays["maxpool_backward"]["x"], 2, 2, 2)
    honest = grade_files(tmp_path, context, "honest",
                         {name[:-4]: text for name, text in texts(assignment, outputs).items()})
    f32 = {k: v.astype(np.float32) for k, v in inputs.items()}
    outputs32 = {k: v.astype(np.float32).astype(np.float64)
                 for k, v in correct_outputs(assignment, f32, seed=4).items()}
    float32 = grade_files(tmp_path, context, "float32",
                          {name[:-4]: text for name, text in texts(assignment, outputs32, "%.9e").items()})
    results = [copier, honest, float32]
    assert all(r.full_marks for r in results), [(c.output, c.message) for r in results
                                                for c in r.checks if c.status != "pass"]
    # The honest loops reproduce the exact outputs byte for byte: never evidence.
    assert {c.output for c in honest.checks
            if c.details.get("file_sha256") == context.expected.manifest["outputs"].get(
                c.output + ".csv", {}).get("sha256")} == \
        {"maxpool_forward_out", "maxpool_backward_out", "dropout_forward_out_test",
         "dropout_backward_out_test"}

    find_flags(results, context.expected.manifest)  # no inputs: copied_expected cannot be judged
    assert flags_of(results) == {}
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {"copier": [("copied_expected", o, []) for o in
                                            ("conv_forward_out", "conv_backward_out_dx",
                                             "conv_backward_out_dw")]}
    assert "byte-identical to the instructors' expected file" in copier.flags[0].message


def test_the_panel_reproduces_exact_outputs_and_not_the_conv_ones(assignment, inputs, context):
    manifest = context.expected.manifest["outputs"]
    for output in assignment.outputs:
        if output.statistical:
            continue
        reproduced = manifest[output.filename]["sha256"] in independent_shas(assignment, inputs, output)
        assert reproduced == (output.file not in FINGERPRINT_OUTPUTS), output.file


def test_flags_never_change_scores_and_are_not_repeated(tmp_path, context, assignment, inputs):
    shared = fresh_keeps(assignment, np.random.default_rng(7))
    results = [grade_files(tmp_path, context, name, train_outputs(assignment, inputs, shared))
               for name in ("x1", "x2")]
    before = [(r.score, [c.score for c in r.checks]) for r in results]
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert [(r.score, [c.score for c in r.checks]) for r in results] == before
    assert [len(r.flags) for r in results] == [2, 2]
    assert all(re.search(r"1 in 10\^\d+", f.message) for r in results for f in r.flags)
    assert results[0].to_dict()["flags"][0]["with"] == ["x2"]
