"""Instructor side: the fixed inputs from the spec, and the reference's expected outputs for them.

Both are deterministic: the same spec gives byte-identical input_files/ and expected/ on every
run and machine. expected/ carries a manifest with the sha256 of every input it was computed from,
so that grading against other inputs stops instead of marking correct students wrong.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import __version__
from grader.assignment import ops
from grader.atomic import write_text_atomic
from grader.assignment.csvio import format_array
from grader.errors import StaleExpectedError, SubmissionError
from grader.intake.reading import read_array

MANIFEST = "manifest.json"


def _input_rng(assignment_seed, file):
    """Each input draws from its own stream, so adding a problem leaves the others unchanged."""
    name_key = int.from_bytes(hashlib.sha256(file.encode()).digest()[:8], "little")
    return np.random.default_rng([assignment_seed, name_key])


def make_inputs(assignment):
    """file name (without .csv) -> the input array the spec describes."""
    return {i.file: i.values.make(i.shape, _input_rng(assignment.seed, i.file))
            for i in assignment.inputs}


def write_inputs(assignment, out_dir):
    """Write every input file of the spec into ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    arrays = make_inputs(assignment)
    paths = []
    for problem in assignment.problems:
        for spec in problem.inputs:
            path = out_dir / spec.filename
            write_text_atomic(path, format_array(arrays[spec.file], problem.file_format))
            paths.append(path)
    return paths


def read_inputs(assignment, inputs_dir):
    """file name -> input array read from ``inputs_dir``, checked against the spec's shapes.

    A course's own input files are accepted in any layout the student reader accepts.
    """
    inputs_dir = Path(inputs_dir)
    if not inputs_dir.is_dir():
        raise StaleExpectedError(f"no inputs folder at {inputs_dir}")
    arrays = {}
    for spec in assignment.inputs:
        path = inputs_dir / spec.filename
        if not path.is_file():
            raise StaleExpectedError(f"input file {spec.filename} is missing", path=inputs_dir)
        arrays[spec.file] = _read_trusted(path, spec.shape)
    return arrays


def _read_trusted(path, shape):
    """An instructor's file: unreadable means grading cannot run, not that a student erred."""
    try:
        return read_array(path, shape)
    except SubmissionError as e:
        raise StaleExpectedError(e.message, path=e.path, line=e.line, column=e.column) from None


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def input_hashes(assignment, inputs_dir):
    return {spec.filename: sha256_file(Path(inputs_dir) / spec.filename) for spec in assignment.inputs}


def compute_expected(assignment, inputs):
    """output file name -> expected array, for every deterministic (not dropout-train) output.

    Correctly rounded (reference.exact): the same bytes on every machine, BLAS and thread count.
    """
    expected = {}
    for problem in assignment.problems:
        arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
        results = ops.run(problem, arrays, dropout_seed=problem.reference_params.get("seed", 0),
                          exact=True)
        for spec in problem.outputs:
            if not spec.statistical:
                expected[spec.file] = results[spec.role]
    return expected


def write_expected(assignment, inputs_dir, out_dir):
    """Compute the reference outputs for the inputs in ``inputs_dir`` into ``out_dir`` with a
    manifest; return the manifest."""
    out_dir = Path(out_dir)
    inputs = read_inputs(assignment, inputs_dir)
    expected = compute_expected(assignment, inputs)
    outputs = {}
    for problem in assignment.problems:
        for spec in problem.outputs:
            if spec.statistical:
                continue
            text = format_array(expected[spec.file], problem.file_format)
            write_text_atomic(out_dir / spec.filename, text)
            outputs[spec.filename] = {"sha256": hashlib.sha256(text.encode()).hexdigest(),
                                      "shape": list(spec.shape)}
    manifest = {
        "assignment": assignment.name,
        "cnngrade_version": __version__,
        "spec_sha256": assignment.sha256,
        "inputs": input_hashes(assignment, inputs_dir),
        "outputs": outputs,
        "judged_statistically": {
            spec.filename: _statistical_rule(assignment.problem(spec.problem))
            for spec in assignment.outputs if spec.statistical
        },
    }
    write_text_atomic(out_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _statistical_rule(problem):
    source = "x" if problem.op == "dropout_forward" else "dout"
    return (f"random mask, no single right answer: every element is 0 or {source}/(1-p) with "
            f"drop probability p = {problem.drop_prob:g}; the dropped fraction passes a two-sided "
            "binomial test and the mask shows no structure")


@dataclass(frozen=True)
class ExpectedOutputs:
    """expected/ as read for grading: arrays by output file name, and the manifest."""

    arrays: dict
    manifest: dict
    folder: Path


def load_expected(assignment, expected_dir, inputs_dir):
    """Read expected/ after checking its manifest against the inputs being graded."""
    expected_dir = Path(expected_dir)
    manifest_path = expected_dir / MANIFEST
    if not manifest_path.is_file():
        raise StaleExpectedError(f"no {MANIFEST} in {expected_dir}: run `cnngrade expected` first")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StaleExpectedError(f"unreadable manifest: {e}", path=manifest_path) from None
    actual = input_hashes(assignment, inputs_dir)
    recorded = manifest.get("inputs", {})
    changed = sorted(name for name in actual if recorded.get(name) != actual[name])
    if changed:
        raise StaleExpectedError(
            f"the expected outputs in {expected_dir} were computed from other inputs than those in "
            f"{inputs_dir} ({', '.join(changed)} differ): stale expected outputs. Recompute them "
            "with `cnngrade expected`, or grade with the inputs they were made from.")
    arrays = {}
    for spec in assignment.outputs:
        if spec.statistical:
            continue
        if recorded_shape := manifest.get("outputs", {}).get(spec.filename, {}).get("shape"):
            if tuple(recorded_shape) != spec.shape:
                raise StaleExpectedError(
                    f"{spec.filename} has shape {tuple(recorded_shape)} in the manifest but the spec "
                    f"says {spec.shape}: recompute expected/ with `cnngrade expected`")
        path = expected_dir / spec.filename
        if not path.is_file():
            raise StaleExpectedError(f"expected output {spec.filename} is missing", path=expected_dir)
        arrays[spec.file] = _read_trusted(path, spec.shape)
    return ExpectedOutputs(arrays, manifest, expected_dir)
