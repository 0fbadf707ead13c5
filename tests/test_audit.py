"""The audit of the fixed inputs: on the default assignment and the example specs every applicable
mistake is caught; inputs that cannot catch a mistake are reported with the reason; the command."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.diagnosis.audit import STATUSES, AuditRow, audit_inputs, format_audit
from grader.cli import main
from grader.diagnosis.cases import MISTAKES
from grader.diagnosis.diagnoser import make_case
from grader.assignment.generate import make_inputs
from grader.assignment.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "assignment.toml"
EXAMPLE_SPECS = sorted((ROOT / "examples" / "specs").glob("*.toml"))


def audit(assignment):
    return audit_inputs(assignment, make_inputs(assignment))


def rows_by(rows):
    return {(r.output, r.code): r for r in rows}


def small_spec(maxpool_x="normal(0, 1)", w_shape=(2, 3, 3, 3), b_values="normal(0, 1)",
               pool_stride=2, dropout_p=0.3):
    return parse_spec({
        "assignment": {"name": "audit test", "seed": 7, "pad_convention": "per_side",
                       "dropout_p_means": "drop"},
        "problems": {
            "maxpool_forward": {
                "op": "maxpool_forward", "pool_height": 2, "pool_width": 2, "stride": pool_stride,
                "inputs": {"x": {"file": "mp_x", "shape": [2, 3, 8, 8], "values": maxpool_x}},
                "outputs": {"out": {"file": "mp_out"}}},
            "maxpool_backward": {
                "op": "maxpool_backward", "pool_height": 2, "pool_width": 2, "stride": pool_stride,
                "inputs": {"x": {"file": "mpb_x", "shape": [2, 3, 8, 8], "values": "normal(0, 1)"},
                           "dout": {"file": "mpb_dout",
                                    "shape": [2, 3, (8 - 2) // pool_stride + 1, (8 - 2) // pool_stride + 1],
                                    "values": "normal(0, 1)"}},
                "outputs": {"dx": {"file": "mpb_dx"}}},
            "conv_forward": {
                "op": "conv_forward", "stride": 1, "pad": 0,
                "inputs": {"x": {"file": "cf_x", "shape": [2, 3, 6, 6], "values": "normal(0, 1)"},
                           "w": {"file": "cf_w", "shape": list(w_shape), "values": "normal(0, 1)"},
                           "b": {"file": "cf_b", "shape": [w_shape[0]], "values": b_values}},
                "outputs": {"out": {"file": "cf_out"}}},
            "dropout_backward": {
                "op": "dropout_backward", "p": dropout_p,
                "inputs": {"x": {"file": "d_x", "shape": [20, 20], "values": "normal(10, 1)"},
                           "dout": {"file": "d_dout", "shape": [20, 20], "values": "normal(0, 1)"}},
                "outputs": {"dx_train": {"file": "d_train"}, "dx_test": {"file": "d_test"}}},
        }})


# Dropout at p = 0.8 over 100 units: a mask drawn as np.random.randn(...) > 0.8 keeps 21.2% of
# the units where the right one keeps 20%, too close to tell apart (the other form, randn < p,
# divides by 0.8 and is caught). Every other applicable mistake is caught.
UNCATCHABLE_NORMAL_DRAW = ("dropout_backward_out_train", "normal_draw")


def test_default_assignment_catches_every_applicable_mistake():
    assignment = load_spec(SPEC)
    rows = audit(assignment)
    assert all(isinstance(r, AuditRow) and r.status in STATUSES and r.reason for r in rows)
    missed = [r for r in rows if r.status == "not caught"]
    assert [(r.output, r.code) for r in missed] == [UNCATCHABLE_NORMAL_DRAW]
    assert missed[0].reason == ("1 of its 2 forms pass: randn(...) > 0.8 keeps 21.2% of the units "
                                "and the right mask 20%: too close to tell apart over 100 units")
    # Every output is audited against every mistake that applies to it, each once.
    inputs = make_inputs(assignment)
    for output in assignment.outputs:
        case = make_case(assignment, output, inputs, None)
        codes = [r.code for r in rows if r.output == output.file]
        assert codes == [m.code for m in MISTAKES if m.applies(case)]
    table = rows_by(rows)
    assert table[("maxpool_backward_out", "not_accumulated")].status == "not applicable"
    assert table[("conv_backward_out_dx", "not_accumulated")].status == "caught"
    assert table[("conv_forward_out", "pad_convention")].reason == \
        "a different count (96 values instead of 54)"
    applicable = sum(r.status != "not applicable" for r in rows)
    assert format_audit(rows).splitlines()[-1] == (
        f"{applicable - 1} of {applicable} mistakes caught; not caught: normal_draw on "
        "dropout_backward_out_train")


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[p.stem for p in EXAMPLE_SPECS])
def test_example_specs(spec):
    rows = audit(load_spec(spec))
    missed = {(r.output, r.code) for r in rows if r.status == "not caught"}
    # cs231n_2017's dropout_backward has the default's p = 0.8 (dropping) over 100 units.
    assert missed == ({UNCATCHABLE_NORMAL_DRAW} if spec.stem == "cs231n_2017" else set())
    if spec.stem == "usc_csci566_nhwc":  # 4x4 pooling windows with stride 2 overlap
        assert rows_by(rows)[("maxpool_backward_dx", "not_accumulated")].status == "caught"


def test_a_monotonic_maxpool_input_cannot_catch_the_last_element():
    rows = rows_by(audit(small_spec(maxpool_x="linspace(1, 10)")))
    row = rows[("mp_out", "last_element")]
    assert row.status == "not caught" and "monotonic" in row.reason
    assert rows[("mp_out", "average_pool")].status == "caught"
    # The default's standard-normal input catches it.
    assert rows_by(audit(small_spec()))[("mp_out", "last_element")].status == "caught"


def test_a_symmetric_kernel_and_a_zero_bias_are_reported():
    rows = rows_by(audit(small_spec(w_shape=(2, 3, 1, 1), b_values="linspace(0, 0)")))
    assert rows[("cf_out", "flipped_kernel")].status == "not caught"
    assert "180-degree rotation" in rows[("cf_out", "flipped_kernel")].reason
    assert rows[("cf_out", "missing_bias")].status == "not caught"
    assert rows[("cf_out", "missing_bias")].reason == "b is zero"
    assert rows[("cf_out", "pad_convention")].status == "not applicable"
    assert rows[("cf_out", "stride_ignored")].status == "not applicable"


def test_overlapping_windows_make_not_accumulated_applicable():
    assert rows_by(audit(small_spec()))[("mpb_dx", "not_accumulated")].status == "not applicable"
    rows = rows_by(audit(small_spec(pool_stride=1)))
    assert rows[("mpb_dx", "not_accumulated")].status == "caught"
    assert rows[("mpb_dx", "stride_ignored")].status == "not applicable"


def test_dropout_at_half_cannot_tell_keep_from_drop():
    rows = rows_by(audit(small_spec(dropout_p=0.5)))
    assert rows[("d_train", "keep_probability")].status == "not caught"
    assert rows[("d_train", "no_scaling")].status == "caught"
    assert rows_by(audit(small_spec(dropout_p=0.3)))[("d_train", "keep_probability")].status == "caught"


def test_format_lists_what_is_not_caught():
    rows = audit(small_spec(maxpool_x="linspace(1, 10)"))
    text = format_audit(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["output", "mistake", "status", "reason"]
    applicable = [r for r in rows if r.status != "not applicable"]
    caught = sum(r.status == "caught" for r in applicable)
    assert lines[-1] == (f"{caught} of {len(applicable)} mistakes caught; "
                         "not caught: last_element on mp_out")


def test_cli_inputs_audit_prints_the_table_and_writes_nothing(tmp_path):
    out = tmp_path / "inputs"
    result = CliRunner().invoke(main, ["inputs", "--spec", str(SPEC), "--out", str(out), "--audit"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["output", "mistake", "status", "reason"]
    assert lines[-1].split("; ")[0].endswith("mistakes caught")
    assert not out.exists()


HALF_KEPT_SPEC = """
[assignment]
name = "dropout at one half"
seed = 5
dropout_p_means = "keep"

[problems.dropout_backward]
op = "dropout_backward"
p = 0.5
inputs.x = { file = "dropout_backward_in_x", shape = [20, 20], values = "normal(10, 1)" }
inputs.dout = { file = "dropout_backward_in_dout", shape = [20, 20], values = "normal(0, 1)" }
outputs.dx_train = { file = "dropout_backward_out_train" }
outputs.dx_test = { file = "dropout_backward_out_test" }
"""


def test_cli_inputs_audit_exits_0_when_something_is_not_caught(tmp_path):
    # p = 0.5: read either way, the same masks and the same scale.
    spec = tmp_path / "half.toml"
    spec.write_text(HALF_KEPT_SPEC)
    result = CliRunner().invoke(main, ["inputs", "--spec", str(spec), "--audit"])
    assert result.exit_code == 0, result.output
    last = result.output.splitlines()[-1]
    assert last.endswith(" mistakes caught; not caught: keep_probability on dropout_backward_out_train")
    caught, total = (int(n) for n in last.split(" mistakes")[0].split(" of "))
    assert caught == total - 1


def test_tied_max_pool_windows_are_warned_about(tmp_path):
    """A course's own inputs with ties (ReLU zeros) could mark a correct tie-breaking wrong."""
    import shutil

    from click.testing import CliRunner

    from grader.diagnosis.audit import tie_warnings
    from grader.cli import main
    from grader.assignment.csvio import write_array
    from grader.assignment.generate import make_inputs
    from grader.assignment.spec import load_spec

    root = Path(__file__).resolve().parents[1]
    assignment = load_spec(root / "assignment.toml")
    assert tie_warnings(assignment, make_inputs(assignment)) == []
    inputs = tmp_path / "in"
    shutil.copytree(root / "input_files", inputs)
    relu = np.maximum(0, np.random.default_rng(7).normal(size=(3, 2, 10, 10)))
    write_array(inputs / "maxpool_backward_in_x.csv", relu)
    result = CliRunner().invoke(main, ["expected", "--spec", str(root / "assignment.toml"),
                                       "--inputs", str(inputs), "--out", str(tmp_path / "exp")])
    assert result.exit_code == 0
    warning = result.output.strip().splitlines()[-1]
    assert warning.startswith("warning: maxpool_backward_in_x.csv: ")
    assert "of 150 pooling windows have tied maxima" in warning


def test_a_transposed_kernel_needs_a_square_kernel_larger_than_one():
    assert rows_by(audit(small_spec()))[("cf_out", "transposed_kernel")].status == "caught"
    row = rows_by(audit(small_spec(w_shape=(2, 3, 3, 2))))[("cf_out", "transposed_kernel")]
    assert row.status == "caught" and row.reason.startswith("code with this mistake cannot run")
    row = rows_by(audit(small_spec(w_shape=(2, 3, 1, 1))))[("cf_out", "transposed_kernel")]
    assert row.status == "not applicable"
