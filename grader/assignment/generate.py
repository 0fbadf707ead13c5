"""Instructor side: the fixed inputs from the spec, and the reference's expected outputs for them.

Both are deterministic: the same spec gives byte-identical input_files/ and expected/ on every
run and machine. expected/ carries a manifest with the sha256 of every input it was computed from,
so that grading against other inputs stops instead of marking correct students wrong.
"""
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import __version__
from grader.assignment import ops
from grader.assignment.csvio import format_array
from grader.atomic import write_text_atomic
from grader.errors import StaleExpectedError, SubmissionError
from grader.intake.reading import parse_array, read_array, read_file_for

MANIFEST = "manifest.json"


def _input_rng(assignment_seed, file):
    """Each input draws from its own stream, so adding a problem leaves the others unchanged."""
    return np.random.default_rng([assignment_seed, input_name_key(file)])


@functools.lru_cache(maxsize=256)
def input_name_key(file):
    """The number that keys an input file's random stream: its name, hashed."""
    return int.from_bytes(hashlib.sha256(file.encode()).digest()[:8], "little")


def make_inputs(assignment):
    """file name (without .csv) -> the input array the spec describes."""
    return {i.file: i.values.make(i.shape, _input_rng(assignment.seed, i.file))
            for i in assignment.inputs}


def write_inputs(assignment, out_dir):
    """Write every input file of the spec into ``out_dir``; return the paths written."""
    return write_input_arrays(assignment, make_inputs(assignment), out_dir)


def write_input_arrays(assignment, arrays, out_dir):
    """Write ``arrays`` (input file name -> array) into ``out_dir`` as the spec's input files, in
    its file format; return the paths written."""
    out_dir = Path(out_dir)
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
        arrays[spec.file] = _read_trusted(read_array, path, spec.shape)
    return arrays


def _read_trusted(read, *args):
    """``read(*args)`` on an instructor's file: unreadable means grading cannot run, not that a
    student erred."""
    try:
        return read(*args)
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
    return compute_expected_many(assignment, [inputs])[0]


# Students whose expected outputs are computed in one call: enough to spread NumPy's per-call
# overhead thin. Past ~32 students of the default assignment a group's products outgrow
# reference.exact's chunks and the processor's caches, and it gets no faster; a spec with larger
# inputs gets fewer students a group, so that a group's inputs hold about _GROUP_VALUES values.
_GROUP_STUDENTS = 32
_GROUP_VALUES = 1 << 17


def compute_expected_many(assignment, inputs_list):
    """:func:`compute_expected` of each of ``inputs_list`` (file name -> input array dicts, e.g.
    one per student): a list of output file name -> array dicts, in order, byte-identical to
    computing them one by one.

    The students are computed in groups (reference.exact's grouped layers, one call per problem
    for a whole group), of at most ``_GROUP_STUDENTS`` students and about ``_GROUP_VALUES`` input
    values, so that memory stays bounded for any number of students and any input size.
    """
    values = sum(math.prod(spec.shape) for spec in assignment.inputs)
    size = max(1, min(_GROUP_STUDENTS, _GROUP_VALUES // max(1, values)))
    expected = []
    for start in range(0, len(inputs_list), size):
        expected += _compute_group(assignment, inputs_list[start:start + size])
    return expected


def _compute_group(assignment, inputs_list):
    expected = [{} for _ in inputs_list]
    for problem in assignment.problems:
        results = ops.run_many(problem, [{spec.role: inputs[spec.file] for spec in problem.inputs}
                                         for inputs in inputs_list])
        for outputs, result in zip(expected, results):
            for spec in problem.outputs:
                if not spec.statistical:
                    outputs[spec.file] = result[spec.role]
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
    """Read expected/ after checking it against its manifest: the inputs being graded and every
    expected file must be the ones it was computed from, byte for byte, and a spec edited since
    must not change what the reference computes.

    An expected file edited by hand, or a spec edited since (stride 1 pad 2 -> stride 2 pad 6
    keeps every shape), would mark correct students wrong without a word.
    """
    expected_dir = Path(expected_dir)
    regenerate = regenerate_command(assignment, inputs_dir, expected_dir)
    manifest = _read_manifest(expected_dir / MANIFEST, regenerate)
    _check_same_assignment(assignment, manifest, expected_dir)
    actual = input_hashes(assignment, inputs_dir)
    recorded = manifest["inputs"]
    changed = sorted(name for name in actual if recorded.get(name) != actual[name])
    if changed:
        raise StaleExpectedError(
            f"the expected outputs in {expected_dir} were computed from other inputs than those in "
            f"{inputs_dir} ({', '.join(changed)} differ): stale expected outputs. Recompute them "
            f"with {regenerate}, or grade with the inputs they were made from.")
    arrays = {}
    for spec in assignment.outputs:
        if spec.statistical:
            continue
        record = manifest["outputs"].get(spec.filename)
        if record is None:
            raise StaleExpectedError(f"the manifest records no {spec.filename}: recompute "
                                     f"expected/ with {regenerate}", path=expected_dir)
        if tuple(record["shape"]) != spec.shape:
            raise StaleExpectedError(
                f"{spec.filename} has shape {tuple(record['shape'])} in the manifest but the spec "
                f"says {spec.shape}: recompute expected/ with {regenerate}")
        path = expected_dir / spec.filename
        if not path.is_file():
            raise StaleExpectedError(f"expected output {spec.filename} is missing", path=expected_dir)
        data = _read_trusted(read_file_for, path, spec.shape)
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise StaleExpectedError(
                f"{spec.filename} is not the file `cnngrade expected` wrote (its sha256 is not "
                f"the manifest's): it was edited or damaged since. Recompute expected/ with "
                f"{regenerate}", path=expected_dir)
        arrays[spec.file] = _read_trusted(parse_array, data, path, spec.shape)
    if manifest["spec_sha256"] != assignment.sha256:
        changed = _changed_by_spec_edit(assignment, inputs_dir, arrays)
        if changed:
            raise StaleExpectedError(
                f"the spec {assignment.source} has changed since the expected outputs in "
                f"{expected_dir} were computed (its sha256 is not the manifest's), and the "
                f"reference now computes other values for {', '.join(changed)}: stale expected "
                f"outputs. Recompute them with {regenerate}.")
    return ExpectedOutputs(arrays, manifest, expected_dir)


# A spec edit leaves an expected output valid when the reference, run now, computes it again to
# within this fraction of its largest value: far below any tolerance, far above the last-bit
# differences another BLAS's summation order makes.
SPEC_EDIT_RTOL = 1e-9


def _changed_by_spec_edit(assignment, inputs_dir, arrays):
    """The expected output files whose values the edited spec changes. Points, tolerances and
    comments change none (regrading needs no new expected/); a stride or a pad that keeps every
    shape changes values."""
    recomputed = compute_expected(assignment, read_inputs(assignment, inputs_dir))
    changed = []
    for spec in assignment.outputs:
        if spec.file not in arrays:
            continue
        now, then = recomputed[spec.file], arrays[spec.file]
        scale = float(np.max(np.abs(then))) if then.size else 0.0
        if now.shape != then.shape or not np.allclose(now, then, rtol=0.0,
                                                      atol=SPEC_EDIT_RTOL * max(scale, 1e-300)):
            changed.append(spec.filename)
    return changed


def regenerate_command(assignment, inputs_dir, expected_dir):
    """The command that rewrites ``expected_dir`` for this spec and these inputs."""
    return (f"`cnngrade expected --spec {assignment.source or 'assignment.toml'} "
            f"--inputs {inputs_dir} --out {expected_dir}`")


def check_expected_belongs(assignment, expected_dir):
    """Refuse, before anything is read against the spec, an expected/ whose manifest says another
    assignment made it: a forgotten --spec would otherwise surface as "holds 96 values; expected
    216" in the first input file. Nothing to say when there is no readable manifest."""
    path = Path(expected_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return
    if isinstance(manifest, dict):
        _check_same_assignment(assignment, manifest, Path(expected_dir))


def _check_same_assignment(assignment, manifest, expected_dir):
    made_for = manifest.get("assignment")
    if isinstance(made_for, str) and made_for != assignment.name:
        raise StaleExpectedError(
            f"the expected outputs in {expected_dir} (and the inputs beside them) belong to the "
            f"assignment {made_for!r}, but the spec {assignment.source or 'assignment.toml'} is "
            f"{assignment.name!r}: grade with the spec they were made from (--spec or --course), "
            f"or make them for this spec with `cnngrade inputs --spec {assignment.source} ...` "
            f"and `cnngrade expected --spec {assignment.source} ...`")


def _read_manifest(path, regenerate="`cnngrade expected`"):
    """manifest.json as a dict whose fields have the types `write_expected` gives them; a
    StaleExpectedError for a missing, unreadable or malformed one."""
    if not path.is_file():
        raise StaleExpectedError(f"no {MANIFEST} in {path.parent}: run {regenerate} first")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StaleExpectedError(f"unreadable manifest: {e}", path=path) from None
    problem = _manifest_problem(manifest)
    if problem:
        raise StaleExpectedError(f"malformed manifest: {problem}; recompute expected/ with "
                                 f"{regenerate}", path=path)
    return manifest


def _manifest_problem(manifest):
    """What is wrong with the parsed manifest's structure, or None."""
    if not isinstance(manifest, dict):
        return f"a JSON object was expected, not {type(manifest).__name__}"
    if not isinstance(manifest.get("spec_sha256"), str):
        return "'spec_sha256' must be the spec's sha256"
    for key in ("inputs", "outputs"):
        if not isinstance(manifest.get(key), dict):
            return f"'{key}' must be an object keyed by file name"
    if not all(isinstance(sha, str) for sha in manifest["inputs"].values()):
        return "every entry of 'inputs' must be a sha256"
    for name, record in manifest["outputs"].items():
        if not (isinstance(record, dict) and isinstance(record.get("sha256"), str)
                and isinstance(record.get("shape"), list)
                and all(isinstance(n, int) and not isinstance(n, bool) for n in record["shape"])):
            return f"outputs.{name} must hold a 'sha256' and a 'shape' (a list of sizes)"
    return None
