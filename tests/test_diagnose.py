"""Diagnosis: a simulated student per catalogued mistake, graded end to end, gets the right code;
correct answers in every accepted form never get one; the Diagnoser is cheap, pickles, and works
without expected outputs.

The wrong outputs are built here independently of grader/diagnosis/: from the reference on
modified inputs or parameters, from the expected arrays, or with the plain loops below, written
as a student would write them.
"""
import pickle
import re

import numpy as np
import pytest

import reference
from grader.assignment import ops
from grader.diagnosis.catalogue import CATALOGUE, explain
from grader.diagnosis.cases import MISTAKES, Inapplicable
from grader.diagnosis.diagnoser import Diagnoser, make_case, variants_for
from grader.diagnosis.matching import matches, printed_precision
from grader.assignment.generate import compute_expected, make_inputs, write_expected, write_inputs
from grader.pipeline import grade_submission, load_context
from grader.intake.reading import CountMismatch
from grader.assignment.spec import load_spec

from grader.simulate import correct_outputs, texts
from simulated import ROOT, SPEC, write_submission

DESIGN_CODES = ("column_major", "flipped_kernel", "pad_convention", "wrong_count", "low_precision",
                "sign_flip", "missing_bias", "not_accumulated", "keep_probability", "no_scaling",
                "scaled_at_test", "not_random", "nonfinite", "parse_error", "missing_file")



@pytest.fixture(scope="module")
def expected(context):
    return context.expected.arrays


def values_text(array, fmt="%.18e", order="C"):
    return "".join(fmt % v + "\n" for v in np.asarray(array).ravel(order=order))


def rows_text(array, fmt="%.18e"):
    return "".join(" ".join(fmt % v for v in row) + "\n" for row in np.asarray(array))


def role_arrays(assignment, inputs, problem_name):
    problem = assignment.problem(problem_name)
    return {spec.role: inputs[spec.file] for spec in problem.inputs}


# ------------------------------------------------------------------------------------------------
# Plain loops for the mistaken computations (NCHW), written as students write them
# ------------------------------------------------------------------------------------------------

def conv_backward_loops(dout, x, w, stride, pad, assign=False, keep_pad=False):
    """dx and dw over dout's positions; ``assign``: dx windows assigned (=), not added."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                grad = np.zeros((C, HH, WW))
                for f in range(F):
                    grad += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
                if assign:
                    dx_pad[n, :, rows, cols] = grad
                else:
                    dx_pad[n, :, rows, cols] += grad
    dx = dx_pad if keep_pad else dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw


def maxpool_backward_loops(dout, x, size, stride, how="max", assign=False):
    """dx of max-pooling; ``how``: 'max', 'all' (every position of the window)."""
    N, C, H, W = x.shape
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    region = (n, c, slice(i * stride, i * stride + size), slice(j * stride, j * stride + size))
                    window = x[region]
                    if how == "all":
                        grad = np.full(window.shape, dout[n, c, i, j])
                    else:
                        grad = np.zeros(window.shape)
                        grad[np.unravel_index(np.argmax(window), window.shape)] = dout[n, c, i, j]
                    if assign:
                        dx[region] = grad
                    else:
                        dx[region] += grad
    return dx


def conv_forward_loops(x, w, b, stride, pad, size=None):
    """A convolution whose window (i, j) starts at (i*stride, j*stride), over ``size`` positions
    (default: the formula's); with the stride left out of the window position when ``stride`` is
    1 and ``size`` is the strided output's."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = size or ((H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def windows_of(x, size, stride):
    N, C, H, W = x.shape
    H_out, W_out = (H - size) // stride + 1, (W - size) // stride + 1
    return np.array([[[[x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                        for j in range(W_out)] for i in range(H_out)] for c in range(C)] for n in range(N)])


# ------------------------------------------------------------------------------------------------
# The class of simulated students: one per mistake
# ------------------------------------------------------------------------------------------------

def mistake_students(assignment, inputs, expected):
    """(code, output file, file text) for one simulated student per catalogued mistake."""
    conv_f = role_arrays(assignment, inputs, "conv_forward")
    conv_b = role_arrays(assignment, inputs, "conv_backward")
    pool_f = role_arrays(assignment, inputs, "maxpool_forward")
    pool_b = role_arrays(assignment, inputs, "maxpool_backward")
    drop_f = role_arrays(assignment, inputs, "dropout_forward")
    drop_b = role_arrays(assignment, inputs, "dropout_backward")
    rng = np.random.default_rng(2017)
    keep_f = rng.random(drop_f["x"].shape) >= 0.3  # dropout_forward: p = 0.3 drop
    keep_b = rng.random(drop_b["dout"].shape) >= 0.8  # dropout_backward: p = 0.8 drop

    def conv_forward(**params):
        merged = {"stride": 2, "pad": 1, **params}
        w = merged.pop("w", conv_f["w"])
        b = merged.pop("b", conv_f["b"])
        return reference.conv_forward(conv_f["x"], w, b, merged)[0]

    x, w, dout = conv_b["x"], conv_b["w"], conv_b["dout"]
    flipped_dx = reference.conv_backward(dout, reference.conv_forward(
        x, w[:, :, ::-1, ::-1], conv_b["b"], {"stride": 1, "pad": 1})[1])[0]
    off_by_one = np.zeros((2, 3, 4, 4))
    off_by_one[:, :, :3, :3] = expected["conv_forward_out"]
    pool_x = pool_f["x"]
    students = [
        ("column_major", "conv_backward_out_dx", values_text(expected["conv_backward_out_dx"], order="F")),
        ("layout", "conv_forward_out", values_text(expected["conv_forward_out"].transpose(0, 2, 3, 1))),
        ("layout", "conv_backward_out_dw", values_text(expected["conv_backward_out_dw"].transpose(2, 3, 1, 0))),
        ("flipped_kernel", "conv_forward_out", values_text(conv_forward(w=conv_f["w"][:, :, ::-1, ::-1]))),
        ("flipped_kernel", "conv_backward_out_dx", values_text(flipped_dx)),
        ("flipped_kernel", "conv_backward_out_dw", values_text(expected["conv_backward_out_dw"][:, :, ::-1, ::-1])),
        ("pad_convention", "conv_forward_out", values_text(conv_forward(pad=2))),
        ("pad_convention", "conv_backward_out_dx", values_text(conv_backward_loops(dout, x, w, 1, 2)[0])),
        ("pad_convention", "conv_backward_out_dw", values_text(conv_backward_loops(dout, x, w, 1, 2)[1])),
        ("pad_ignored", "conv_forward_out", values_text(conv_forward(pad=0))),
        ("stride_ignored", "conv_forward_out", values_text(conv_forward(stride=1))),
        ("stride_ignored", "maxpool_forward_out", values_text(windows_of(pool_x, 2, 1).max(axis=(4, 5)))),
        ("stride_ignored", "conv_forward_out",
         values_text(conv_forward_loops(conv_f["x"], conv_f["w"], conv_f["b"], 1, 1, size=(3, 3)))),
        ("stride_ignored", "maxpool_forward_out",
         values_text(windows_of(pool_x, 2, 1)[:, :, :4, :4].max(axis=(4, 5)))),
        ("bias_broadcast", "conv_forward_out", values_text(conv_forward(b=np.full(3, conv_f["b"][0])))),
        ("transposed_kernel", "conv_forward_out",
         values_text(conv_forward_loops(conv_f["x"], conv_f["w"].transpose(0, 1, 3, 2), conv_f["b"], 2, 1))),
        ("pool_mask_only", "maxpool_backward_out",
         values_text(maxpool_backward_loops(np.ones_like(pool_b["dout"]), pool_b["x"], 2, 2))),
        ("wrong_input", "dropout_backward_out_train", rows_text(drop_b["x"] * keep_b / 0.2)),
        ("wrong_input", "dropout_backward_out_test", rows_text(drop_b["x"])),
        ("column_major", "dropout_forward_out_train", values_text(drop_f["x"] * keep_f / 0.7, order="F")),
        ("column_major", "dropout_backward_out_train",
         values_text(drop_b["dout"] * keep_b / 0.2, order="F")),
        ("off_by_one_size", "conv_forward_out", values_text(off_by_one)),
        ("dx_padded", "conv_backward_out_dx", values_text(conv_backward_loops(dout, x, w, 1, 1, keep_pad=True)[0])),
        ("one_sample", "maxpool_forward_out", values_text(expected["maxpool_forward_out"][0])),
        ("wrong_count", "conv_forward_out", values_text(expected["conv_forward_out"].ravel()[:50])),
        ("low_precision", "conv_forward_out", values_text(expected["conv_forward_out"], "%.2e")),
        ("low_precision", "maxpool_forward_out", values_text(expected["maxpool_forward_out"], "%.2f")),
        ("sign_flip", "maxpool_backward_out", values_text(-expected["maxpool_backward_out"])),
        ("sign_flip", "conv_backward_out_db", values_text(-expected["conv_backward_out_db"])),
        ("missing_bias", "conv_forward_out", values_text(conv_forward(b=np.zeros(3)))),
        ("not_accumulated", "conv_backward_out_dx", values_text(conv_backward_loops(dout, x, w, 1, 1, assign=True)[0])),
        ("all_positions", "maxpool_backward_out",
         values_text(maxpool_backward_loops(pool_b["dout"], pool_b["x"], 2, 2, how="all"))),
        ("last_element", "maxpool_forward_out", values_text(windows_of(pool_x, 2, 2)[..., -1, -1])),
        ("average_pool", "maxpool_forward_out", values_text(windows_of(pool_x, 2, 2).mean(axis=(4, 5)))),
        ("batch_mean", "conv_backward_out_dw", values_text(expected["conv_backward_out_dw"] / 4)),
        ("batch_mean", "conv_backward_out_db", values_text(expected["conv_backward_out_db"] / 4)),
        ("all_zero", "conv_backward_out_dw", values_text(np.zeros((2, 3, 3, 3)))),
        ("scaled_at_test", "dropout_forward_out_test", rows_text(drop_f["x"] * 0.7)),
        ("scaled_at_test", "dropout_backward_out_test", rows_text(drop_b["dout"] / 0.2)),
        ("scaled_at_test", "dropout_forward_out_test", rows_text(drop_f["x"] * 0.3)),
        ("dropout_at_test", "dropout_backward_out_test", rows_text(drop_b["dout"] * keep_b / 0.2)),
        ("keep_probability", "dropout_forward_out_train", rows_text(drop_f["x"] * ~keep_f / 0.3)),
        ("keep_probability", "dropout_backward_out_train", rows_text(drop_b["dout"] * ~keep_b / 0.8)),
        ("scaled_by_drop", "dropout_forward_out_train", rows_text(drop_f["x"] * keep_f / 0.3)),
        ("no_scaling", "dropout_forward_out_train", rows_text(drop_f["x"] * keep_f)),
        ("inverse_scaling", "dropout_forward_out_train", rows_text(drop_f["x"] * keep_f * 0.7)),
        ("no_dropout", "dropout_forward_out_train", rows_text(drop_f["x"])),
        ("not_random", "dropout_forward_out_train", rows_text(drop_f["x"] * keep_f[:1] / 0.7)),
        ("low_precision", "dropout_forward_out_train", rows_text(drop_f["x"] * keep_f / 0.7, "%.3f")),
        ("nonfinite", "maxpool_forward_out",
         values_text(expected["maxpool_forward_out"]).replace("\n", "\nnan\n", 1).rsplit("\n", 2)[0] + "\n"),
        ("parse_error", "conv_forward_out", "out\n" + values_text(expected["conv_forward_out"])),
        ("missing_file", "conv_backward_out_db", None),
    ]
    return students


def cs231n_students(assignment, inputs):
    """(code, output file, file text) for the dropout code of real CS231n students that the
    catalogue learned from, run on a CS231n spec's inputs with its own p (either reading)."""
    x = role_arrays(assignment, inputs, "dropout_forward")["x"]
    dout = role_arrays(assignment, inputs, "dropout_backward")["dout"]
    p = assignment.problem("dropout_forward").params["p"]
    p_backward = assignment.problem("dropout_backward").params["p"]
    q = assignment.problem("dropout_forward").drop_prob
    rng = np.random.default_rng(231)
    draws = rng.standard_normal(x.shape)
    uniform = rng.random(x.shape)
    row_mask = np.ones((1, x.shape[1]))
    row_mask[rng.random((1, x.shape[1])) < p] = 0  # one mask row for the whole batch
    # The other hand-out's reading of p: keep where this one drops, and the reverse.
    other_era = (x * (uniform < p) / p if assignment.dropout_p_means == "drop"
                 else x * (uniform >= p) / (1 - p))
    return [
        ("normal_draw", "dropout_forward_out_train", rows_text(x * (draws < p) / p)),
        ("normal_draw", "dropout_forward_out_train", rows_text(x * (draws > p) / (1 - p))),
        ("not_random", "dropout_forward_out_train", rows_text(x * row_mask / p)),
        ("keep_probability", "dropout_forward_out_train", rows_text(other_era)),
        ("scaled_by_drop", "dropout_forward_out_train", rows_text(x * (uniform >= q) / q)),
        ("scaled_at_test", "dropout_forward_out_test", rows_text(x * p)),
        ("scaled_at_test", "dropout_forward_out_test", rows_text(x * (1 - p))),
        ("scaled_at_test", "dropout_backward_out_test", rows_text(dout * p_backward)),
        ("scaled_at_test", "dropout_backward_out_test", rows_text(dout * (1 - p_backward))),
    ]


def student_ids(students):
    return [f"{code}-{output}" for code, output, _ in students]


_ASSIGNMENT = load_spec(SPEC)
_INPUTS = make_inputs(_ASSIGNMENT)
_STUDENTS = mistake_students(_ASSIGNMENT, _INPUTS, compute_expected(_ASSIGNMENT, _INPUTS))
CS231N_ERAS = ("cs231n_2017", "cs231n_2018")  # dropout's p drops, then keeps
_CS231N_STUDENTS = []
for _era in CS231N_ERAS:
    _spec = load_spec(ROOT / "examples" / "specs" / f"{_era}.toml")
    _CS231N_STUDENTS += [(_era, *student) for student in cs231n_students(_spec, make_inputs(_spec))]


class TestSimulatedStudents:
    """Each student makes one mistake in one output; every other file is right."""

    @pytest.mark.parametrize("code, output, text", _STUDENTS, ids=student_ids(_STUDENTS))
    def test_each_mistake_is_diagnosed(self, tmp_path, context, assignment, inputs, code, output, text):
        files = texts(assignment, correct_outputs(assignment, inputs, seed=11))
        if text is None:
            del files[output + ".csv"]
        else:
            files[output + ".csv"] = text
        folder = write_submission(tmp_path / "e0000000x" / "output_files", files)
        result = grade_submission(folder.parent, context)
        checks = {c.output: c for c in result.checks}
        check = checks[output]
        assert check.status != "pass", check.message
        assert check.diagnosis_code == code, check.message
        assert check.score == 0.0
        others = [c for name, c in checks.items() if name != output]
        assert all(c.status == "pass" and c.diagnosis is None for c in others), \
            [(c.output, c.message) for c in others if c.status != "pass"]
        assert "Likely: " in check.full_message or code in ("missing_file", "nonfinite", "parse_error")

    def test_every_catalogued_mistake_has_a_student(self):
        # normal_draw: on the default assignment a normal mask is either caught by its scaling
        # alone or drops close to p or 1 - p; the CS231n students below make it.
        simulated = {code for code, _, _ in _STUDENTS} | {code for _, code, _, _ in _CS231N_STUDENTS}
        catalogued = {m.code for m in MISTAKES}
        # not_accumulated on max-pooling needs overlapping windows: tested on the NHWC spec below.
        assert catalogued - simulated == set()
        assert set(DESIGN_CODES) <= simulated


@pytest.fixture(scope="module")
def cs231n_contexts(tmp_path_factory):
    """Each CS231n spec's grading context, its inputs and expected outputs written to disk."""
    contexts = {}
    for era in CS231N_ERAS:
        spec = ROOT / "examples" / "specs" / f"{era}.toml"
        folder = tmp_path_factory.mktemp(era)
        assignment = load_spec(spec)
        write_inputs(assignment, folder / "in")
        write_expected(assignment, folder / "in", folder / "exp")
        contexts[era] = load_context(spec, folder / "in", folder / "exp")
    return contexts


@pytest.mark.parametrize("era, code, output, text", _CS231N_STUDENTS,
                         ids=[f"{era}-{code}-{output}-{i}"
                              for i, (era, code, output, _) in enumerate(_CS231N_STUDENTS)])
def test_real_students_dropout_under_both_readings_of_p(tmp_path, cs231n_contexts, era, code,
                                                        output, text):
    """The dropout mistakes of real CS231n students, under the spec that reads p as drop (2017)
    and as keep (2018): each is named, in the spec's own terms."""
    context = cs231n_contexts[era]
    files = texts(context.assignment, correct_outputs(context.assignment, context.inputs, seed=5))
    files[output + ".csv"] = text
    folder = write_submission(tmp_path / "e0000000x" / "output_files", files)
    checks = {c.output: c for c in grade_submission(folder.parent, context).checks}
    check = checks[output]
    assert check.status == "fail" and check.diagnosis_code == code, check.full_message
    assert all(c.status == "pass" for name, c in checks.items() if name != output)
    message = check.diagnosis.message
    if code == "normal_draw":
        assert "np.random.randn(*x.shape)" in message and "np.random.rand(*x.shape)" in message
    if code == "not_random":
        assert "every row of your output has the same mask" in message
    if code in ("keep_probability", "scaled_by_drop"):
        meaning = "KEEPING" if era == "cs231n_2018" else "DROPPING"
        assert f"is the probability of {meaning} a unit" in message, message
    assert not re.search(r"[.!?]\s+[A-Z]", message), message  # one sentence


@pytest.mark.parametrize("era", CS231N_ERAS)
def test_each_dropout_variant_is_judged_as_its_own_mistake(era):
    """Every form of every train-mode dropout mistake, drawn once on a CS231n spec's 2,500-unit
    dropout_forward, is what the judge (the one engine) names it: the variants and the judge
    agree."""
    assignment = load_spec(ROOT / "examples" / "specs" / f"{era}.toml")
    inputs = make_inputs(assignment)
    output = assignment.output("dropout_forward_out_train")
    case = make_case(assignment, output, inputs, None)
    diagnoser = Diagnoser(assignment, inputs, None)
    forms = 0
    for mistake, found in variants_for(case):
        if isinstance(found, Inapplicable):
            continue
        for variant in found:
            assert matches(variant, variant.values, output.rtol, output.atol), (mistake.code, variant.message)
            assert diagnoser.diagnose_values(output, variant.values).code == mistake.code
            forms += 1
    assert forms == 15


def test_messages_are_one_sentence_without_expected_values(context, assignment, inputs, expected):
    diagnoser = context.diagnoser
    values = np.concatenate([a.ravel() for a in expected.values()])
    big = values[np.abs(values) > 1e-3]
    for code, output, text in _STUDENTS:
        if text is None or code in ("nonfinite", "parse_error"):
            continue
        spec = assignment.output(output)
        got = np.array(text.split(), dtype=float)
        if got.size == spec.size:
            diagnosis = diagnoser.diagnose_values(spec, got.reshape(spec.shape))
        else:
            diagnosis = diagnoser.diagnose_count(spec, CountMismatch("", None, spec.size, got.size, got))
        assert diagnosis is not None and diagnosis.code == code
        message = diagnosis.message
        assert not re.search(r"[.!?]\s+[A-Z]", message), message  # one sentence
        assert not message[0].isupper() and not message.endswith("."), message
        for token in re.findall(r"-?\d+\.\d{2,}(?:e-?\d+)?", message):
            number = float(token)
            assert not np.any(np.isclose(big, number, rtol=1e-3)), (token, message)


# ------------------------------------------------------------------------------------------------
# Correct answers never get a diagnosis
# ------------------------------------------------------------------------------------------------

# Graded end to end, the correct variants (float32, 7 digits, 2-D text, CRLF and commas) pass with no
# diagnosis: tests/test_grade.py::test_correct_variants_get_full_marks.


def test_the_diagnoser_never_diagnoses_a_correct_output(context, assignment, inputs, expected):
    """Called directly (grading only calls it on failures): float64, float32 and 7-digit answers,
    and correct dropout train outputs with many masks."""
    diagnoser = context.diagnoser
    f32 = {k: v.astype(np.float32) for k, v in inputs.items()}
    in_f32 = compute_expected(assignment, f32)
    for output in assignment.outputs:
        if output.statistical:
            continue
        exact = expected[output.file]
        for got in (exact, in_f32[output.file].astype(np.float32).astype(np.float64),
                    np.array([float("%.6e" % v) for v in exact.ravel()]).reshape(exact.shape)):
            assert diagnoser.diagnose_values(output, got) is None, output.file
    for seed in range(200):
        for output, got in _correct_train_outputs(assignment, inputs, seed).items():
            assert diagnoser.diagnose_values(assignment.output(output), got) is None, (output, seed)


def _correct_train_outputs(assignment, inputs, seed):
    outputs = correct_outputs(assignment, inputs, seed)
    return {o.file: outputs[o.file] for o in assignment.outputs if o.statistical}


# ------------------------------------------------------------------------------------------------
# The Diagnoser's API and costs
# ------------------------------------------------------------------------------------------------

def test_explain_covers_every_code():
    for code in set(DESIGN_CODES) | {m.code for m in MISTAKES}:
        diagnosis = explain(code)
        assert diagnosis.code == code and diagnosis.message == CATALOGUE[code]
        assert diagnosis.message and not re.search(r"[.!?]\s+[A-Z]", diagnosis.message)
    assert explain("something_new").message == ""


def test_variants_are_computed_once_per_output(assignment, inputs, expected, monkeypatch):
    """Diagnosing a class costs a few comparisons per failing output: the mistakes' variants are
    computed on the first failure of an output and reused for every later one."""
    from grader.diagnosis import diagnoser as module

    calls = []
    original = module.variants_for
    monkeypatch.setattr(module, "variants_for", lambda *a, **k: calls.append(1) or original(*a, **k))
    diagnoser = Diagnoser(assignment, inputs, expected)
    rng = np.random.default_rng(0)
    for output in assignment.outputs:
        got = rng.normal(size=output.shape)
        for _ in range(3):
            assert diagnoser.diagnose_values(output, got) is None
    assert len(calls) == len(assignment.outputs)


def test_the_diagnoser_pickles_without_its_cache(assignment, inputs, expected):
    diagnoser = Diagnoser(assignment, inputs, expected)
    output = assignment.output("conv_forward_out")
    flipped = -expected["conv_forward_out"]
    assert diagnoser.diagnose_values(output, flipped).code == "sign_flip"
    copy = pickle.loads(pickle.dumps(diagnoser))
    assert copy._cache == {}
    assert copy.diagnose_values(output, flipped).code == "sign_flip"


def test_without_expected_outputs_counts_and_dropout_are_still_diagnosed(assignment, inputs):
    """A student self-checking: no expected/, so only what the inputs tell."""
    diagnoser = Diagnoser(assignment, inputs, None)
    conv = assignment.output("conv_forward_out")
    per_side_2 = reference.conv_forward(inputs["conv_forward_in_x"], inputs["conv_forward_in_w"],
                                        inputs["conv_forward_in_b"], {"stride": 2, "pad": 2})[0]
    error = CountMismatch("", None, conv.size, per_side_2.size, per_side_2.ravel())
    assert diagnoser.diagnose_count(conv, error).code == "pad_convention"
    one = assignment.output("maxpool_forward_out")
    error = CountMismatch("", None, one.size, one.size // 3, np.ones(one.size // 3))
    assert diagnoser.diagnose_count(one, error).code == "one_sample"
    train = assignment.output("dropout_forward_out_train")
    x = inputs["dropout_forward_in_x"]
    keep = np.random.default_rng(5).random(x.shape) >= 0.3
    assert diagnoser.diagnose_values(train, x * keep).code == "no_scaling"


def test_a_count_several_mistakes_give_lists_them(context, assignment):
    """conv_forward: 96 values is pad 2 per side or an output one position too large each way."""
    output = assignment.output("conv_forward_out")
    values = np.random.default_rng(1).normal(size=96)
    diagnosis = context.diagnoser.diagnose_count(output, CountMismatch("", None, 54, 96, values))
    assert diagnosis.code == "wrong_count"
    assert "per side" in diagnosis.message and "4x4" in diagnosis.message


def test_a_count_no_mistake_explains_says_which_shapes_it_could_be(context, assignment):
    output = assignment.output("conv_forward_out")
    diagnosis = context.diagnoser.diagnose_count(output, CountMismatch("", None, 54, 108, np.ones(108)))
    assert diagnosis.code == "wrong_count" and "2 times" in diagnosis.message
    diagnosis = context.diagnoser.diagnose_count(output, CountMismatch("", None, 54, 53, np.ones(53)))
    assert diagnosis.code == "wrong_count" and "53 values instead of 54" in diagnosis.message
    # The reader already explained an index column: no second guess.
    error = CountMismatch("", None, 54, 108, np.ones(108), hint="an index column")
    assert context.diagnoser.diagnose_count(output, error) is None


def test_printed_precision_reads_digits_and_decimals():
    values = np.random.default_rng(3).normal(size=100) * 0.3
    assert printed_precision([float("%.3e" % v) for v in values]).describe() == "4 significant digits"
    assert printed_precision([float("%.4f" % v) for v in values]).describe() == "4 decimal places"
    assert printed_precision([float("%f" % v) for v in values]).describe() == "6 decimal places"
    assert printed_precision([float("%.6e" % v) for v in values]).describe() is None
    assert printed_precision(values).describe() is None
    assert printed_precision(np.zeros(5)).describe() is None


# ------------------------------------------------------------------------------------------------
# Other courses' conventions (examples/specs)
# ------------------------------------------------------------------------------------------------

def _spec_setup(name):
    assignment = load_spec(ROOT / "examples" / "specs" / name)
    inputs = make_inputs(assignment)
    expected = compute_expected(assignment, inputs)
    return assignment, inputs, expected, Diagnoser(assignment, inputs, expected)


def test_nhwc_course_layout_flip_and_overlapping_pool():
    assignment, inputs, expected, diagnoser = _spec_setup("usc_csci566_nhwc.toml")
    out = assignment.output("conv_forward_out")
    nchw = expected["conv_forward_out"].transpose(0, 3, 1, 2)  # written NCHW
    diagnosis = diagnoser.diagnose_values(out, nchw.reshape(out.shape))
    assert diagnosis.code == "layout" and "(N, C, H, W)" in diagnosis.message
    assert ".transpose(0, 2, 3, 1)" in diagnosis.message

    problem = assignment.problem("conv_forward")
    arrays = {s.role: inputs[s.file] for s in problem.inputs}
    arrays["w"] = arrays["w"][::-1, ::-1]  # (HH, WW, C, F): rotate the spatial axes
    assert diagnoser.diagnose_values(out, ops.run(problem, arrays)["out"]).code == "flipped_kernel"

    dx = assignment.output("maxpool_backward_dx")  # 4x4 windows, stride 2: they overlap
    x = inputs["maxpool_backward_x"].transpose(0, 3, 1, 2)
    dout = inputs["maxpool_backward_dout"].transpose(0, 3, 1, 2)
    assigned = maxpool_backward_loops(dout, x, 4, 2, assign=True).transpose(0, 2, 3, 1)
    assert diagnoser.diagnose_values(dx, assigned).code == "not_accumulated"


def test_keep_probability_course_is_told_its_own_convention():
    assignment, inputs, expected, diagnoser = _spec_setup("cs231n_2018.toml")
    train = assignment.output("dropout_forward_out_train")
    x = inputs["dropout_forward_in_x"]
    # p = 0.25 means keep; a student who reads it as the drop probability keeps 75%, scales 1/0.75.
    keep = np.random.default_rng(9).random(x.shape) < 0.75
    diagnosis = diagnoser.diagnose_values(train, x * keep / 0.75)
    assert diagnosis.code == "keep_probability"
    assert "KEEPING" in diagnosis.message and "p = 0.25" in diagnosis.message


def test_matching_uses_the_grading_rule():
    """grader.judge.tolerance.within is grader.judge.compare's rule, element for element."""
    from grader.judge.compare import compare
    from grader.judge.tolerance import within
    rng = np.random.default_rng(8)
    for _ in range(300):
        ref = rng.normal(size=20) * 10.0 ** rng.integers(-3, 3)
        got = ref + rng.normal(size=20) * np.abs(ref).max() * 10.0 ** rng.uniform(-7, -4)
        assert within(got, ref, 1e-5, 1e-5) == compare(got, ref, 1e-5, 1e-5).passed
    assert within(np.zeros(3), np.zeros(3), 1e-5, 1e-5)


def test_swapped_dropout_files_are_suggested(tmp_path, context, assignment, inputs):
    """Train and test outputs written into each other's files: each diagnosis says so."""
    files = texts(assignment, correct_outputs(assignment, inputs, seed=11))
    files["dropout_forward_out_train.csv"], files["dropout_forward_out_test.csv"] = \
        files["dropout_forward_out_test.csv"], files["dropout_forward_out_train.csv"]
    folder = write_submission(tmp_path / "e0000000x" / "output_files", files)
    checks = {c.output: c for c in grade_submission(folder.parent, context).checks}
    assert checks["dropout_forward_out_train"].diagnosis_code == "no_dropout"
    assert checks["dropout_forward_out_test"].diagnosis_code == "dropout_at_test"
    for name in ("dropout_forward_out_train", "dropout_forward_out_test"):
        assert "files are swapped" in checks[name].full_message, checks[name].full_message


def test_an_all_dropped_train_output_is_diagnosed_only_when_chance_rules_it_out(assignment, inputs):
    diagnoser = Diagnoser(assignment, inputs, None)
    train = assignment.output("dropout_backward_out_train")  # p = 0.8 over 100 units: 2e-10
    assert diagnoser.diagnose_values(train, np.zeros(train.shape)).code == "all_zero"
