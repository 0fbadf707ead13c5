"""Inputs and expected outputs: byte-identical regeneration (golden files) whatever the BLAS thread
count and the summation order, the example specs end to end, a course's own input files, and the
manifest's guard against stale expected outputs.

To rewrite the committed folders after changing the spec or the reference:
    cnngrade inputs --out input_files && cnngrade expected --out expected
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import reference
from reference import exact
from grader.cli import main
from grader.errors import StaleExpectedError
from grader.assignment.generate import (compute_expected, load_expected, make_inputs, write_expected,
                                       write_inputs)
from grader.assignment.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "assignment.toml"
EXAMPLE_SPECS = sorted((ROOT / "examples/specs").glob("*.toml"))


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def test_committed_folders_regenerate_byte_for_byte(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["inputs", "--spec", str(SPEC), "--out", str(tmp_path / "in")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["expected", "--spec", str(SPEC), "--inputs", str(tmp_path / "in"),
                                  "--out", str(tmp_path / "exp")])
    assert result.exit_code == 0, result.output
    assert folder_bytes(tmp_path / "in") == folder_bytes(ROOT / "input_files")
    assert folder_bytes(tmp_path / "exp") == folder_bytes(ROOT / "expected")


def test_file_format_is_18_digit_one_value_per_line_or_rows():
    lines = (ROOT / "input_files/conv_forward_in_x.csv").read_text().split("\n")
    assert lines[0] == "-1.000000000000000056e-01" and lines[-1] == ""
    assert len(lines) == 2 * 3 * 6 * 6 + 1
    rows = (ROOT / "input_files/dropout_forward_in_x.csv").read_text().splitlines()
    assert len(rows) == 20 and all(len(r.split(" ")) == 20 for r in rows)


def test_default_input_values_follow_the_design_recipes():
    arrays = make_inputs(load_spec(SPEC))
    np.testing.assert_array_equal(arrays["conv_forward_in_x"].ravel(), np.linspace(-0.1, 0.5, 216))
    np.testing.assert_array_equal(arrays["conv_forward_in_w"].ravel(), np.linspace(-0.2, 0.3, 144))
    np.testing.assert_array_equal(arrays["conv_forward_in_b"], np.linspace(-0.1, 0.2, 3))
    x = arrays["dropout_forward_in_x"]
    assert abs(x.mean() - 10) < 0.2 and abs(x.std() - 1) < 0.2 and (x != 0).all()
    pool_x = arrays["maxpool_forward_in_x"]
    assert not (np.diff(pool_x.ravel()) > 0).all()  # not monotonic: "last element" cannot pass


def test_expected_outputs_are_the_correctly_rounded_reference_on_the_inputs():
    a = load_spec(SPEC)
    exp = load_expected(a, ROOT / "expected", ROOT / "input_files")
    arrays = make_inputs(a)
    x, w, b = (arrays[f"conv_forward_in_{role}"] for role in "xwb")
    out, _ = exact.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    np.testing.assert_array_equal(exp.arrays["conv_forward_out"], out)
    # The fast reference agrees to the last bit or so of the output's scale.
    fast, _ = reference.conv_forward(x, w, b, {"stride": 2, "pad": 1})
    np.testing.assert_allclose(fast, out, rtol=0, atol=4 * np.finfo(float).eps * np.abs(out).max())
    np.testing.assert_array_equal(exp.arrays["dropout_forward_out_test"], arrays["dropout_forward_in_x"])
    manifest = exp.manifest
    assert set(manifest["judged_statistically"]) == {"dropout_forward_out_train.csv",
                                                    "dropout_backward_out_train.csv"}
    assert manifest["spec_sha256"] == a.sha256 and len(manifest["inputs"]) == 13


@pytest.mark.parametrize("threads", ["1", "2"])
def test_expected_bytes_do_not_depend_on_the_blas_thread_count(tmp_path, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads)
    command = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())",
               "expected", "--spec", str(SPEC), "--inputs", str(ROOT / "input_files"),
               "--out", str(tmp_path / "exp")]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert folder_bytes(tmp_path / "exp") == folder_bytes(ROOT / "expected")


def test_expected_bytes_do_not_depend_on_the_summation_order(tmp_path, monkeypatch):
    """Every sum with its terms shuffled, and the convolutions with their channels in reverse
    order (which reorders every sum over channels): the same bytes as expected/."""
    a = load_spec(SPEC)
    inputs = make_inputs(a)
    rng = np.random.default_rng(0)
    sum_terms = exact._sum_terms
    with monkeypatch.context() as patched:
        patched.setattr(exact, "_sum_terms", lambda terms, lows: sum_terms(
            terms[rng.permutation(len(terms))], lows[rng.permutation(len(lows))]))
        write_expected(a, ROOT / "input_files", tmp_path / "exp")
    assert folder_bytes(tmp_path / "exp") == folder_bytes(ROOT / "expected")
    reversed_channels = {name: v[:, ::-1] if name.startswith("conv") and name[-1] in "xw" else v
                         for name, v in inputs.items()}
    again = compute_expected(a, reversed_channels)
    committed = load_expected(a, ROOT / "expected", ROOT / "input_files").arrays
    for name in ("conv_forward_out", "conv_backward_out_db"):
        np.testing.assert_array_equal(again[name], committed[name])
    for name in ("conv_backward_out_dx", "conv_backward_out_dw"):
        np.testing.assert_array_equal(again[name][:, ::-1], committed[name])


@pytest.mark.parametrize("spec_path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_example_specs_end_to_end(spec_path, tmp_path):
    a = load_spec(spec_path)
    write_inputs(a, tmp_path / "in")
    manifest = write_expected(a, tmp_path / "in", tmp_path / "exp")
    again = tmp_path / "again"
    write_inputs(a, again / "in")
    write_expected(a, again / "in", again / "exp")
    assert folder_bytes(tmp_path / "in") == folder_bytes(again / "in")
    assert folder_bytes(tmp_path / "exp") == folder_bytes(again / "exp")
    exp = load_expected(a, tmp_path / "exp", tmp_path / "in")
    assert set(exp.arrays) == {o.file for o in a.outputs if not o.statistical}
    assert len(manifest["outputs"]) == len(exp.arrays)


def test_nhwc_expected_is_the_nchw_reference_transposed(tmp_path):
    a = load_spec(ROOT / "examples/specs/usc_csci566_nhwc.toml")
    arrays = make_inputs(a)
    write_inputs(a, tmp_path / "in")
    write_expected(a, tmp_path / "in", tmp_path / "exp")
    exp = load_expected(a, tmp_path / "exp", tmp_path / "in").arrays
    x = arrays["conv_backward_x"].transpose(0, 3, 1, 2)
    w = arrays["conv_backward_w"].transpose(3, 2, 0, 1)
    dout = arrays["conv_backward_dout"].transpose(0, 3, 1, 2)
    _, cache = exact.conv_forward(x, w, arrays["conv_backward_b"], {"stride": 1, "pad": 1})
    dx, dw, db = exact.conv_backward(dout, cache)
    np.testing.assert_array_equal(exp["conv_backward_dx"], dx.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(exp["conv_backward_dw"], dw.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(exp["conv_backward_db"], db)
    # The overlapping 4x4/2 pool: each dx sums the gradients of up to four windows.
    px = arrays["maxpool_backward_x"].transpose(0, 3, 1, 2)
    _, cache = exact.max_pool_forward(px, {"pool_height": 4, "pool_width": 4, "stride": 2})
    pdx = exact.max_pool_backward(arrays["maxpool_backward_dout"].transpose(0, 3, 1, 2), cache)
    np.testing.assert_array_equal(exp["maxpool_backward_dx"], pdx.transpose(0, 2, 3, 1))
    pdout = arrays["maxpool_backward_dout"]
    fast = reference.max_pool_backward(pdout.transpose(0, 3, 1, 2), cache)
    np.testing.assert_allclose(fast, pdx, rtol=0,
                               atol=4 * np.finfo(float).eps * np.abs(pdout).max())


def test_course_own_inputs_in_other_formats(tmp_path):
    """`--inputs DIR`: a course's existing input files, comma-separated or 2-D, are accepted."""
    a = load_spec(SPEC)
    arrays = make_inputs(a)
    own = tmp_path / "own"
    own.mkdir()
    for spec in a.inputs:
        values = arrays[spec.file].reshape(arrays[spec.file].shape[0], -1)
        np.savetxt(own / spec.filename, values, delimiter=",", fmt="%.18e")
    result = CliRunner().invoke(main, ["expected", "--spec", str(SPEC), "--inputs", str(own),
                                       "--out", str(tmp_path / "exp")])
    assert result.exit_code == 0, result.output
    for name in ("conv_forward_out.csv", "maxpool_backward_out.csv"):
        assert (tmp_path / "exp" / name).read_bytes() == (ROOT / "expected" / name).read_bytes()


def test_stale_expected_outputs_are_refused(tmp_path):
    a = load_spec(SPEC)
    write_inputs(a, tmp_path / "in")
    write_expected(a, tmp_path / "in", tmp_path / "exp")
    path = tmp_path / "in" / "conv_forward_in_b.csv"
    path.write_text(path.read_text().replace("e-01", "e-02", 1))
    with pytest.raises(StaleExpectedError, match=r"stale expected outputs.*conv_forward_in_b.csv|conv_forward_in_b.csv differ"):
        load_expected(a, tmp_path / "exp", tmp_path / "in")
    with pytest.raises(StaleExpectedError, match="no manifest.json"):
        load_expected(a, tmp_path / "nowhere", tmp_path / "in")


def test_cli_reports_a_bad_spec_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[assignment]\nname = "x"\nseed = 1\n[problems.a]\nop = "conv"\n')
    result = CliRunner().invoke(main, ["inputs", "--spec", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"cnngrade: error: {bad}: problems.a.op: unknown op 'conv'; expected one of conv_forward, "
        "conv_backward, maxpool_forward, maxpool_backward, dropout_forward, dropout_backward"]


def test_manifest_is_deterministic_json(tmp_path):
    a = load_spec(SPEC)
    write_inputs(a, tmp_path / "in")
    m1 = write_expected(a, tmp_path / "in", tmp_path / "exp")
    assert json.loads((tmp_path / "exp" / "manifest.json").read_text()) == m1
