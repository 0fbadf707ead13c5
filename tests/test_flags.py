"""Batch flags: copied dropout masks and copied expected files are flagged with their odds;
independent correct students never are, however many; flags never change a score."""
import math
import re

import numpy as np
import pytest

from reference import loops
from grader.batch import copied
from grader.assignment import ops
from grader.batch.copied import independent_shas
from grader.batch.flags import find_flags, pair_log10_probability
from grader.pipeline import grade_submission
from grader.judge.dropout import DropoutVerdict
from grader.results import CheckResult, Fingerprints, SubmissionResult

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, write_submission

CLASS_SIZE = 200

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
    n, q = check.dropout.tested, 0.3
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
    verdict = DropoutVerdict(
        passed=True, size=tested, tested=tested, ambiguous=0, dropped=dropped,
        observed_fraction=dropped / tested, expected_fraction=0.5, accepted_interval=None,
        accepted_fractions=None, p_value=None, bad_values=0, worst_bad_index=None,
        worst_bad_value=None, worst_bad_kept=None, structure_failures=(), structure_tests=(),
        diagnosis=None, message="", alpha=1e-6, source_name="x", mask_digest=digest)
    check = CheckResult(output="dropout_forward_out_train", problem="dropout_forward", status="pass",
                        score=1.0, max_score=1.0, message="", size=tested, dropout=verdict,
                        fingerprints=Fingerprints(student, digest))
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


# --------------------------------------------------------------------------------------------------
# copied_expected. Honest students as they write convolutions: CS231n's im2col.py and
# fast_layers.py (verbatim, unused names and all), and a per-sample loop of matrix products.
# --------------------------------------------------------------------------------------------------

def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    N, C, H, W = x_shape
    out_height = (H + 2 * padding - field_height) // stride + 1
    out_width = (W + 2 * padding - field_width) // stride + 1
    i0 = np.repeat(np.arange(field_height), field_width)
    i0 = np.tile(i0, C)
    i1 = stride * np.repeat(np.arange(out_height), out_width)
    j0 = np.tile(np.arange(field_width), field_height * C)
    j1 = stride * np.tile(np.arange(out_width), out_height)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), field_height * field_width).reshape(-1, 1)
    return k, i, j


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    p = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant')
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    cols = x_padded[:, k, i, j]
    C = x.shape[1]
    cols = cols.transpose(1, 2, 0).reshape(field_height * field_width * C, -1)
    return cols


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    N, C, H, W = x_shape
    H_padded, W_padded = H + 2 * padding, W + 2 * padding
    x_padded = np.zeros((N, C, H_padded, W_padded), dtype=cols.dtype)
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    cols_reshaped = cols.reshape(C * field_height * field_width, -1, N)
    cols_reshaped = cols_reshaped.transpose(2, 0, 1)
    np.add.at(x_padded, (slice(None), k, i, j), cols_reshaped)
    if padding == 0:
        return x_padded
    return x_padded[:, :, padding:-padding, padding:-padding]


def conv_forward_im2col(x, w, b, conv_param):
    N, C, H, W = x.shape
    num_filters, _, filter_height, filter_width = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    out_height = (H + 2 * pad - filter_height) // stride + 1
    out_width = (W + 2 * pad - filter_width) // stride + 1
    x_cols = im2col_indices(x, w.shape[2], w.shape[3], pad, stride)
    res = w.reshape((w.shape[0], -1)).dot(x_cols) + b.reshape(-1, 1)
    out = res.reshape(w.shape[0], out_height, out_width, x.shape[0])
    out = out.transpose(3, 0, 1, 2)
    return out, (x, w, b, conv_param, x_cols)


def conv_backward_im2col(dout, cache):
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    db = np.sum(dout, axis=(0, 2, 3))
    num_filters, _, filter_height, filter_width = w.shape
    dout_reshaped = dout.transpose(1, 2, 3, 0).reshape(num_filters, -1)
    dw = dout_reshaped.dot(x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(num_filters, -1).T.dot(dout_reshaped)
    dx = col2im_indices(dx_cols, x.shape, filter_height, filter_width, pad, stride)
    return dx, dw, db


def conv_forward_strides(x, w, b, conv_param):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    p = pad
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant')
    H += 2 * pad
    W += 2 * pad
    out_h = (H - HH) // stride + 1
    out_w = (W - WW) // stride + 1
    shape = (C, HH, WW, N, out_h, out_w)
    strides = (H * W, W, 1, C * H * W, stride * W, stride)
    strides = x.itemsize * np.array(strides)
    x_stride = np.lib.stride_tricks.as_strided(x_padded, shape=shape, strides=strides)
    x_cols = np.ascontiguousarray(x_stride)
    x_cols.shape = (C * HH * WW, N * out_h * out_w)
    res = w.reshape(F, -1).dot(x_cols) + b.reshape(-1, 1)
    res.shape = (F, N, out_h, out_w)
    out = res.transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)
    return out, (x, w, b, conv_param, x_cols)


def col2im_6d(cols, N, C, H, W, HH, WW, pad, stride):
    """fast_layers' col2im_6d_cython, its three inner loops (n, h, w) as one slice."""
    out_h, out_w = cols.shape[4], cols.shape[5]
    x_padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for c in range(C):
        for hh in range(HH):
            for ww in range(WW):
                x_padded[:, c, hh:hh + stride * (out_h - 1) + 1:stride,
                         ww:ww + stride * (out_w - 1) + 1:stride] += cols[c, hh, ww]
    return x_padded[:, :, pad:pad + H, pad:pad + W] if pad else x_padded


def conv_backward_strides(dout, cache):
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, out_h, out_w = dout.shape
    db = np.sum(dout, axis=(0, 2, 3))
    dout_reshaped = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = dout_reshaped.dot(x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T.dot(dout_reshaped)
    dx_cols.shape = (C, HH, WW, N, out_h, out_w)
    dx = col2im_6d(dx_cols, N, C, H, W, HH, WW, pad, stride)
    return dx, dw, db


def conv_forward_per_sample(x, w, b, conv_param):
    N = x.shape[0]
    F = w.shape[0]
    s, p = conv_param['stride'], conv_param['pad']
    H_out = (x.shape[2] + 2 * p - w.shape[2]) // s + 1
    W_out = (x.shape[3] + 2 * p - w.shape[3]) // s + 1
    w_row = w.reshape(F, -1)
    out = np.zeros((N, F, H_out, W_out))
    all_cols = []
    for n in range(N):
        cols_n = im2col_indices(x[n:n + 1], w.shape[2], w.shape[3], p, s)  # (C*HH*WW, H_out*W_out)
        out[n] = (w_row @ cols_n).reshape(F, H_out, W_out) + b[:, None, None]
        all_cols.append(cols_n)
    return out, (x, w, b, conv_param, all_cols)


def conv_backward_per_sample(dout, cache):
    x, w, b, conv_param, all_cols = cache
    s, p = conv_param['stride'], conv_param['pad']
    F = w.shape[0]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for n in range(x.shape[0]):
        dout_n = dout[n].reshape(F, -1)
        dw += (dout_n @ all_cols[n].T).reshape(w.shape)
        dx_cols = w.reshape(F, -1).T @ dout_n
        dx[n] = col2im_indices(dx_cols, x[n:n + 1].shape, w.shape[2], w.shape[3], p, s)[0]
    return dx, dw, dout.sum(axis=(0, 2, 3))


STUDENT_CONVS = {"cs231n_im2col": (conv_forward_im2col, conv_backward_im2col),
                 "cs231n_strides": (conv_forward_strides, conv_backward_strides),
                 "per_sample": (conv_forward_per_sample, conv_backward_per_sample)}


def student_conv_outputs(assignment, inputs, forward, backward, seed):
    """Correct outputs (file -> array), the convolutions by the student's forward and backward."""
    outputs = correct_outputs(assignment, inputs, seed=seed)
    for name in ("conv_forward", "conv_backward"):
        problem = assignment.problem(name)
        a = {spec.role: inputs[spec.file] for spec in problem.inputs}
        out, cache = forward(a["x"], a["w"], a["b"], dict(problem.reference_params))
        if problem.op == "conv_forward":
            results = {"out": out}
        else:
            dx, dw, db = backward(a["dout"], cache)
            results = {"dx": dx, "dw": dw, "db": db}
        for spec in problem.outputs:
            outputs[spec.file] = results[spec.role]
    return outputs


def expected_copy(assignment, inputs):
    copied = {o.file: (EXPECTED / o.filename).read_text() for o in assignment.outputs
              if not o.statistical}
    keeps = fresh_keeps(assignment, np.random.default_rng(1))
    copied.update(train_outputs(assignment, inputs, keeps))
    return copied


def identical_to_expected(result, context):
    manifest = context.expected.manifest["outputs"]
    return {c.output for c in result.checks
            if c.fingerprints and c.fingerprints.file_sha256 == manifest.get(c.output + ".csv", {}).get("sha256")}


CONV_OUTPUTS = {"conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw",
                "conv_backward_out_db"}
# The convolution outputs whose values sum many products (db's two values are plain sums).
LONG_SUMS = CONV_OUTPUTS - {"conv_backward_out_db"}


def test_cs231n_and_per_sample_students_are_never_flagged(tmp_path, context, assignment, inputs):
    """F1: CS231n's im2col and strides code and a per-sample loop of matrix products are never
    flagged; with expected/ correctly rounded, none of them writes its long sums' bytes."""
    results = []
    for seed, (name, (forward, backward)) in enumerate(STUDENT_CONVS.items(), start=40):
        outputs = student_conv_outputs(assignment, inputs, forward, backward, seed)
        files = {n[:-4]: text for n, text in texts(assignment, outputs).items()}
        results.append(grade_files(tmp_path, context, name, files))
    assert all(r.full_marks for r in results), [(r.id, c.output, c.message) for r in results
                                                for c in r.checks if c.status != "pass"]
    # Every value of these files would have to be the correctly rounded sum: no honest order of
    # summation does that for the 54 to 300 values of a file.
    for result in results:
        assert not identical_to_expected(result, context) & LONG_SUMS, result.id
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {}


def test_a_copy_is_flagged_on_the_long_sums_and_honest_work_never(tmp_path, context, assignment,
                                                                  inputs):
    copier = grade_files(tmp_path, context, "copier", expected_copy(assignment, inputs))
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
    assert identical_to_expected(honest, context) == \
        {"maxpool_forward_out", "maxpool_backward_out", "dropout_forward_out_test",
         "dropout_backward_out_test"}
    find_flags(results, context.expected.manifest)  # no inputs: copied_expected cannot be judged
    assert flags_of(results) == {}
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {"copier": [("copied_expected", o, []) for o in
                                            ("conv_forward_out", "conv_backward_out_dx",
                                             "conv_backward_out_dw")]}


def test_the_panel_reproduces_the_exact_outputs_and_no_long_sum(assignment, inputs, context):
    """expected/ is correctly rounded: the panel writes the bytes of the outputs computed without
    rounding (max-pool, dropout's test mode) and of none of the long convolution sums."""
    manifest = context.expected.manifest["outputs"]
    for output in assignment.outputs:
        if output.statistical or output.file == "conv_backward_out_db":
            continue
        reproduced = manifest[output.filename]["sha256"] in independent_shas(assignment, inputs,
                                                                             output)
        assert reproduced == (output.file not in LONG_SUMS), output.file


def _one_ulp_off(panel):
    """A panel whose members are still correct but reproduce no bytes: each value one ulp up."""
    def nudged(op, a, params):
        for name, result in panel(op, a, params):
            yield name, {role: np.nextafter(v, np.inf) for role, v in result.items()}
    return nudged


def test_a_copy_is_flagged_where_no_panel_member_reproduces_expected(
        tmp_path, monkeypatch, context, assignment, inputs):
    copier = grade_files(tmp_path, context, "copier", expected_copy(assignment, inputs))
    outputs = correct_outputs(assignment, inputs, 5)
    honest = grade_files(tmp_path, context, "honest",
                         {n[:-4]: text for n, text in texts(assignment, outputs).items()})
    monkeypatch.setattr(copied, "_conv_panel", _one_ulp_off(copied._conv_panel))
    results = [copier, honest]
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert flags_of(results) == {"copier": [("copied_expected", o, []) for o in
                                            ("conv_forward_out", "conv_backward_out_dx",
                                             "conv_backward_out_dw", "conv_backward_out_db")]}
    members = len(list(copied._conv_panel("conv_forward", *_conv_arrays(assignment, inputs,
                                                                        "conv_forward"))))
    message = copier.flags[0].message
    assert "byte-identical to the instructors' expected file" in message
    assert f"none of {members} independent correct implementations reproduces" in message
    assert "code that sums in exactly the reference's order" in message
    assert "tensordot" not in message
    # Where the reference itself, run here, does not write expected/'s bytes (another machine's
    # arithmetic), the panel proves nothing: no flag.
    copier.flags.clear()
    run = copied.ops.run
    monkeypatch.setattr(copied.ops, "run", lambda problem, arrays, **kw: {
        role: np.nextafter(v, np.inf) if problem.name == "conv_forward" else v
        for role, v in run(problem, arrays, **kw).items()})
    find_flags(results, context.expected.manifest, assignment=assignment, inputs=inputs)
    assert [f.output for f in copier.flags] == ["conv_backward_out_dx", "conv_backward_out_dw",
                                               "conv_backward_out_db"]


def _conv_arrays(assignment, inputs, name):
    problem = assignment.problem(name)
    a = {s.role: ops.to_nchw(s.role, np.asarray(inputs[s.file], float), problem.layout)
         for s in problem.inputs}
    return a, problem.reference_params


GEOMETRIES = [  # x shape, w shape, stride, pad (per side)
    ((2, 3, 6, 6), (3, 3, 4, 4), 2, 1),
    ((4, 3, 5, 5), (2, 3, 3, 3), 1, 1),
    ((3, 2, 7, 9), (4, 2, 3, 2), (2, 1), (1, 2)),
    ((2, 4, 8, 8), (5, 4, 1, 1), 3, 0),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_every_panel_member_is_correct(geometry):
    x_shape, w_shape, stride, pad = geometry
    rng = np.random.default_rng(len(str(geometry)))
    a = {"x": rng.standard_normal(x_shape), "w": rng.standard_normal(w_shape),
         "b": rng.standard_normal(w_shape[0])}
    params = {"stride": stride, "pad": pad}
    ref = ops.run_nchw("conv_forward", a, params)
    a["dout"] = rng.standard_normal(ref["out"].shape)
    ref.update(ops.run_nchw("conv_backward", a, params))
    for op, roles in (("conv_forward", {"out"}), ("conv_backward", {"dx", "dw", "db"})):
        names = []
        for name, result in copied._panel(op, a, params):
            names.append(name)
            assert set(result) <= roles and result, (op, name)
            for role, value in result.items():
                assert value.shape == ref[role].shape, (op, name, role)
                error = np.max(np.abs(value - ref[role])) / np.max(np.abs(ref[role]))
                assert error <= 1e-12, (op, name, role, error)
        assert len(names) == len(set(names)) >= 9
        assert {"CS231n im2col_indices", "CS231n conv_forward_strides"} <= set(names) \
            if op == "conv_forward" else \
            {"CS231n conv_backward_im2col", "CS231n conv_backward_strides"} <= set(names)



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
