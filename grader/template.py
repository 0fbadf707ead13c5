"""The student hand-out: student_template/ with the fixed input files and the spec.

``write_template`` copies the template's files (layer skeletons, make_outputs.py, self_check.py,
README.md), the spec's input files and the spec itself (as ``assignment.toml``, where
``cnngrade check`` looks by default) into a new folder; never expected/.

The template lives at the repository root (student_template/). A source checkout or an editable
install finds it there; ``pip install .`` installs a copy under ``<prefix>/share/cnngrade/`` (the
``[tool.setuptools.data-files]`` table of pyproject.toml), which is searched next.

make_outputs.py states the default assignment's problems in its own table (students' code depends
on NumPy only, not on cnngrade), so a spec whose files, shapes or parameters differ from that table
is refused rather than handed out with a script that writes the wrong files.
"""
import importlib.util
import os
import shutil
import sys
import sysconfig
import uuid
from pathlib import Path

from grader.errors import GraderError
from grader.assignment.generate import read_inputs
from grader.assignment.spec import load_spec

TEMPLATE_DIRNAME = "student_template"
# Where `pip install .` puts the template, relative to an installation prefix (pyproject.toml).
INSTALLED_TEMPLATE = Path("share") / "cnngrade" / TEMPLATE_DIRNAME
# The files handed out, relative to the template folder; pyproject.toml's data-files must match.
TEMPLATE_FILES = (
    "README.md",
    "make_outputs.py",
    "self_check.py",
    "code_base/__init__.py",
    "code_base/layers.py",
    "code_base/gradient_check.py",
)
SPEC_NAME = "assignment.toml"
INPUTS_DIRNAME = "input_files"


def template_candidates():
    """The folders searched for the template, in order."""
    candidates = [Path(__file__).resolve().parents[1] / TEMPLATE_DIRNAME]
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", f"{os.name}_user"))
    except KeyError:  # no user scheme on this platform
        pass
    for prefix in prefixes:
        candidate = Path(prefix) / INSTALLED_TEMPLATE
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def find_template():
    """The folder holding every file of the student template, or a GraderError saying where it looked."""
    candidates = template_candidates()
    for candidate in candidates:
        if all((candidate / name).is_file() for name in TEMPLATE_FILES):
            return candidate
    raise GraderError("cannot find the student template (student_template/); looked in "
                      + ", ".join(str(c) for c in candidates)
                      + ". Reinstall cnngrade, or run from a source checkout.")


def load_template_table(template_dir):
    """make_outputs.py of ``template_dir`` as a module (its main() is not run)."""
    path = Path(template_dir) / "make_outputs.py"
    module_spec = importlib.util.spec_from_file_location("_cnngrade_template_make_outputs", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # anything an edited script may raise on import
        raise GraderError(f"cannot load the template's make_outputs.py: {type(e).__name__}: {e}",
                          path=path) from None
    return module


def template_mismatches(assignment, template_dir):
    """How make_outputs.py's problem table disagrees with ``assignment``: a list of sentences."""
    module = load_template_table(template_dir)
    table = module.PROBLEMS
    found = []
    if assignment.layout != "NCHW":
        found.append(f"the template's layers are NCHW but the spec's layout is {assignment.layout}")
    spec_problems = {p.name: p for p in assignment.problems}
    for name in sorted(set(spec_problems) - set(table)):
        found.append(f"the spec's problem {name!r} is not in the template")
    for name in sorted(set(table) - set(spec_problems)):
        found.append(f"the template's problem {name!r} is not in the spec")
    for name in (n for n in table if n in spec_problems):
        problem, entry = spec_problems[name], table[name]
        if problem.op != name:
            found.append(f"{name}: the spec runs op {problem.op!r}, the template runs {name!r}")
        spec_inputs = {i.role: (i.file, tuple(i.shape)) for i in problem.inputs}
        template_inputs = {role: (file, tuple(shape)) for role, (file, shape) in entry["inputs"].items()}
        if spec_inputs != template_inputs:
            found.append(f"{name}: inputs (file, shape) are {template_inputs} in the template, "
                         f"{spec_inputs} in the spec")
        spec_outputs = {o.role: (o.file, tuple(o.shape)) for o in problem.outputs}
        template_outputs = {role: (file, tuple(shape)) for role, (file, shape) in entry["outputs"].items()}
        if spec_outputs != template_outputs:
            found.append(f"{name}: outputs (file, shape) are {template_outputs} in the template, "
                         f"{spec_outputs} in the spec")
        if entry["format"] != problem.file_format:
            found.append(f"{name}: file format {entry['format']!r} in the template, "
                         f"{problem.file_format!r} in the spec")
        # The seed only chooses the reference's mask for expected/; students' masks are their own.
        spec_params = {k: v for k, v in problem.reference_params.items() if k != "seed"}
        template_params = module.layer_params(entry["params"])
        if template_params != spec_params:
            found.append(f"{name}: the layers get {template_params} from the template but "
                         f"{spec_params} from the spec (per-side pad, drop probability)")
    return found


def write_template(out_dir, inputs_dir="input_files", spec_path="assignment.toml"):
    """Write the student hand-out into the new or empty folder ``out_dir``; return the paths written.

    The hand-out holds the template's files, the spec's input files from ``inputs_dir`` (checked
    against the spec) in ``input_files/``, and the spec as ``assignment.toml``. The folder appears
    complete or not at all.
    """
    out_dir = Path(out_dir)
    spec_path = Path(spec_path)
    assignment = load_spec(spec_path)
    read_inputs(assignment, inputs_dir)  # refuses missing, malformed or wrongly sized inputs
    template_dir = find_template()
    mismatches = template_mismatches(assignment, template_dir)
    if mismatches:
        raise GraderError(
            f"the student template's make_outputs.py does not fit the spec {spec_path}: "
            + "; ".join(mismatches)
            + f". Adapt the PROBLEMS table of {template_dir / 'make_outputs.py'} to the spec.")
    if out_dir.exists() and not out_dir.is_dir():
        raise GraderError("exists and is not a folder: choose another place for the template",
                          path=out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise GraderError("is not empty: refusing to overwrite it; choose a new folder or empty "
                          "this one", path=out_dir)

    sources = {name: template_dir / name for name in TEMPLATE_FILES}
    sources.update({f"{INPUTS_DIRNAME}/{spec.filename}": Path(inputs_dir) / spec.filename
                    for spec in assignment.inputs})
    sources[SPEC_NAME] = spec_path

    staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex}.tmp"
    try:
        staging.mkdir(parents=True)  # like any new folder (not mkdtemp's owner-only mode)
        for name, source in sources.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if out_dir.is_dir():
            out_dir.rmdir()  # empty, as checked above
        staging.rename(out_dir)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise GraderError(f"cannot write the template: {e.strerror or e}",
                          path=e.filename or out_dir) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in sources]
