"""Build examples/submissions/, the small example class that `cnngrade batch` grades by default.

Each student is made from the reference on the committed input_files/, with one known mistake
(or none), so the report shows what cnngrade catches and how it explains it. Deterministic: the
same inputs give byte-identical folders and zips. Run from the repository root:

    python examples/make_example_class.py [--out examples/submissions]
"""
import argparse
import io
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assignment import ops  # noqa: E402
from grader.assignment.csvio import VALUE_FORMAT  # noqa: E402
from grader.assignment.generate import read_inputs  # noqa: E402
from grader.assignment.spec import load_spec  # noqa: E402
from grader.simulate import correct_outputs, texts  # noqa: E402

ZIP_DATE = (2017, 10, 1, 12, 0, 0)  # fixed, so the zip is byte-identical on every run


def students(assignment, inputs):
    """student id -> (file name -> text, layout) for the example class."""
    classes = {}

    ok = correct_outputs(assignment, inputs, seed=1)
    classes["e0000001a"] = (texts(assignment, ok), "output_files")

    # Computed in float32 and written with 9 significant digits: must get full marks.
    f32 = {name: a.astype(np.float32).astype(np.float64)
           for name, a in correct_outputs(
               assignment, {k: v.astype(np.float32) for k, v in inputs.items()}, seed=2).items()}
    classes["e0000002b"] = (texts(assignment, f32, "%.9e"), "output_files")

    # Flattened column-major (Fortran order) in conv_backward_out_dx.
    cm = correct_outputs(assignment, inputs, seed=3)
    cm_texts = texts(assignment, cm)
    dx = cm["conv_backward_out_dx"]
    cm_texts["conv_backward_out_dx.csv"] = "".join(VALUE_FORMAT % v + "\n" for v in dx.ravel(order="F"))
    classes["e0000003c"] = (cm_texts, "output_files")

    # Dropout p taken as the keep-probability: drops 1-p of the units, scales by 1/p.
    kp = correct_outputs(assignment, inputs, seed=4)
    rng = np.random.default_rng(404)
    for problem in assignment.problems:
        if not problem.op.startswith("dropout"):
            continue
        source_role = "x" if problem.op == "dropout_forward" else "dout"
        source = inputs[next(i.file for i in problem.inputs if i.role == source_role)]
        keep_prob_misread = problem.drop_prob
        keep = rng.random(source.shape) < keep_prob_misread
        train = next(o for o in problem.outputs if o.statistical)
        kp[train.file] = source * keep / keep_prob_misread
    classes["e0000004d"] = (texts(assignment, kp), "output_files")

    # A missing file, and the rest loose at the top of the folder (no output_files/).
    missing = texts(assignment, correct_outputs(assignment, inputs, seed=5))
    del missing["maxpool_backward_out.csv"]
    classes["e0000005e"] = (missing, "")

    # A malformed CSV: a header line and a NaN.
    bad = texts(assignment, correct_outputs(assignment, inputs, seed=6))
    bad["conv_forward_out.csv"] = "conv_forward_out\n" + bad["conv_forward_out.csv"]
    lines = bad["maxpool_forward_out.csv"].splitlines(keepends=True)
    lines[7] = "nan\n"
    bad["maxpool_forward_out.csv"] = "".join(lines)
    classes["e0000006f"] = (bad, "output_files")

    # A zip whose output_files/ sits inside a folder named after the student; 7 significant
    # digits, commas and CRLF line ends: still full marks.
    zipped = texts(assignment, correct_outputs(assignment, inputs, seed=7), "%.6e")
    zipped = {name: text.replace(" ", ",").replace("\n", "\r\n") for name, text in zipped.items()}
    classes["e0000007g.zip"] = (zipped, "e0000007g/output_files")

    # e0000001a's dropout masks, and the instructors' expected/ files for the rest: full marks,
    # and the shared masks flagged in the instructor's report (flags never change a score). The
    # expected/ bytes are not flagged: honest code that sums in the reference's order (CS231n's
    # im2col, a per-sample matrix product) writes the very same bytes.
    copier = texts(assignment, correct_outputs(assignment, inputs, seed=1, own_conv=False))
    classes["e0000009i"] = (copier, "output_files")

    # True convolution (a flipped kernel) in conv_forward.
    conv = correct_outputs(assignment, inputs, seed=8)
    problem = assignment.problem("conv_forward")
    arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
    arrays["w"] = arrays["w"][:, :, ::-1, ::-1]
    conv["conv_forward_out"] = ops.run(problem, arrays)["out"]
    classes["e0000008h"] = (texts(assignment, conv), "output_files")
    return classes


def write_class(out_dir, assignment, inputs):
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for student, (files, folder) in students(assignment, inputs).items():
        if student.endswith(".zip"):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name in sorted(files):
                    info = zipfile.ZipInfo(f"{folder}/{name}", date_time=ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, files[name])
            (out_dir / student).write_bytes(buffer.getvalue())
            continue
        target = out_dir / student / folder
        target.mkdir(parents=True, exist_ok=True)
        for name, text in sorted(files.items()):
            (target / name).write_bytes(text.encode("ascii"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "examples" / "submissions"))
    parser.add_argument("--spec", default=str(ROOT / "assignment.toml"))
    parser.add_argument("--inputs", default=str(ROOT / "input_files"))
    args = parser.parse_args(argv)
    assignment = load_spec(args.spec)
    write_class(args.out, assignment, read_inputs(assignment, args.inputs))
    print(f"wrote the example class to {args.out}")


if __name__ == "__main__":
    main()
