"""The spec layer: the default assignment as DESIGN.md tabulates it, conventions resolved once,
and malformed specs refused with a message naming the key."""
import copy
from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.assignment.spec import load_spec, parse_spec

try:
    import tomllib
except ModuleNotFoundError:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = tomllib.loads((ROOT / "assignment.toml").read_text())


def spec_with(change):
    data = copy.deepcopy(DEFAULT)
    change(data)
    return data


def test_default_assignment_matches_design_table():
    a = load_spec(ROOT / "assignment.toml")
    shapes = {i.file: i.shape for i in a.inputs}
    assert shapes == {
        "conv_forward_in_x": (2, 3, 6, 6), "conv_forward_in_w": (3, 3, 4, 4), "conv_forward_in_b": (3,),
        "conv_backward_in_x": (4, 3, 5, 5), "conv_backward_in_w": (2, 3, 3, 3),
        "conv_backward_in_b": (2,), "conv_backward_in_dout": (4, 2, 5, 5),
        "maxpool_forward_in_x": (3, 3, 8, 8),
        "maxpool_backward_in_x": (3, 2, 10, 10), "maxpool_backward_in_dout": (3, 2, 5, 5),
        "dropout_forward_in_x": (20, 20),
        "dropout_backward_in_x": (10, 10), "dropout_backward_in_dout": (10, 10),
    }
    assert [o.file for o in a.outputs] == [
        "conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw", "conv_backward_out_db",
        "maxpool_forward_out", "maxpool_backward_out",
        "dropout_forward_out_train", "dropout_forward_out_test",
        "dropout_backward_out_train", "dropout_backward_out_test",
    ]
    assert a.output("conv_forward_out").shape == (2, 3, 3, 3)
    # The course's total pad 2 is one zero on each side.
    assert a.problem("conv_forward").reference_params == {"stride": 2, "pad": 1}
    assert a.problem("conv_backward").reference_params == {"stride": 1, "pad": 1}
    assert a.problem("dropout_forward").drop_prob == 0.3
    assert a.problem("dropout_backward").drop_prob == 0.8
    assert [o.statistical for o in a.outputs].count(True) == 2
    assert a.max_score == 10.0
    assert a.problem("dropout_forward").file_format == "rows"
    assert a.problem("conv_forward").file_format == "values"


def test_keep_probability_is_converted_to_drop_probability():
    a = load_spec(ROOT / "examples/specs/cs231n_2018.toml")
    assert a.problem("dropout_forward").drop_prob == pytest.approx(0.75)
    assert a.problem("dropout_forward").params == {"p": 0.25}
    assert load_spec(ROOT / "examples/specs/cs231n_2017.toml").problem("dropout_forward").drop_prob == 0.3


def test_nhwc_spec_shapes_are_in_file_layout():
    a = load_spec(ROOT / "examples/specs/usc_csci566_nhwc.toml")
    assert a.output("conv_forward_out").shape == (2, 4, 4, 4)  # (N, H_out, W_out, F)
    assert a.output("conv_backward_dw").shape == (3, 3, 3, 4)  # (HH, WW, C, F)
    assert a.output("maxpool_forward_out").shape == (2, 4, 4, 3)  # 4x4/2 over 10x10
    assert a.output("conv_forward_out").partial


def test_pad_pair_and_per_side():
    a = parse_spec(spec_with(lambda d: d["problems"]["conv_forward"].update(pad=[2, 4])))
    assert a.problem("conv_forward").reference_params["pad"] == (1, 2)
    assert a.output("conv_forward_out").shape == (2, 3, 3, 4)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["problems"]["conv_forward"].update(pad=3),
     "problems.conv_forward.pad: a total pad of 3 is odd"),
    (lambda d: d["problems"]["conv_forward"].update(padding=2),
     "problems.conv_forward.padding: unknown key"),
    (lambda d: d["assignment"].update(colour="red"), "assignment.colour: unknown key"),
    (lambda d: d.update(extra={}), "extra: unknown key"),
    (lambda d: d["problems"]["conv_forward"]["inputs"]["x"].update(shape=[2, 4, 6, 6]),
     "problems.conv_forward: the input shapes do not fit the parameters"),
    (lambda d: d["problems"]["conv_backward"]["inputs"]["dout"].update(shape=[4, 2, 4, 4]),
     "problems.conv_backward: the input shapes do not fit the parameters"),
    (lambda d: d["problems"]["conv_forward"]["outputs"]["out"].pop("file"),
     "problems.conv_forward.outputs.out.file is missing"),
    (lambda d: d["problems"]["conv_forward"]["inputs"]["x"].update(file="../x"),
     "problems.conv_forward.inputs.x.file: '../x' is not a plain file name"),
    (lambda d: d["problems"]["conv_forward"]["outputs"]["out"].update(file="conv_forward_in_x"),
     "is already used by problems.conv_forward.inputs.x.file"),
    (lambda d: d["problems"]["conv_forward"].update(op="conv3d"),
     "problems.conv_forward.op: unknown op 'conv3d'"),
    (lambda d: d["problems"]["conv_forward"]["inputs"].pop("b"),
     "problems.conv_forward.inputs.b is missing"),
    (lambda d: d["problems"]["conv_forward"]["inputs"]["x"].update(values="gauss(0, 1)"),
     "problems.conv_forward.inputs.x.values: 'gauss(0, 1)' is not a value recipe"),
    (lambda d: d["problems"]["dropout_forward"].update(p=1.0),
     "problems.dropout_forward.p: p = 1.0 (drop probability)"),
    (lambda d: d["problems"]["maxpool_forward"].pop("pool_height"),
     "problems.maxpool_forward.pool_height is missing"),
    (lambda d: d["problems"]["maxpool_forward"].update(stride=0),
     "problems.maxpool_forward.stride: must be >= 1"),
    (lambda d: d["assignment"].pop("pad_convention"),
     "problems.conv_forward.pad: say what pad means"),
    (lambda d: d["assignment"].update(layout="NHCW"), "assignment.layout: must be one of"),
    (lambda d: d["tolerance"].update(rtol="tight"), "tolerance.rtol: must be a non-negative number"),
    (lambda d: d["problems"]["conv_forward"]["outputs"]["out"].update(points=-1),
     "problems.conv_forward.outputs.out.points: must be a non-negative number"),
])
def test_malformed_spec_is_refused_naming_the_key(change, message):
    with pytest.raises(SpecError) as info:
        parse_spec(spec_with(change))
    assert message in str(info.value)


def test_unreadable_spec_names_the_file(tmp_path):
    bad = tmp_path / "assignment.toml"
    bad.write_text("[assignment\nname = 1")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="cannot read the assignment spec"):
        load_spec(tmp_path / "nope.toml")
