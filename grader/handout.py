"""The student hand-out (`cnngrade template`): a folder made from any spec, holding no answers.

``write_template`` writes, for the spec given:

- ``code_base/layers.py``: skeletons of the layer functions the spec's problems use, documented in
  the course's layout and conventions (rendered from student_template/code_base/layers.py.j2);
- ``README.md``: the steps, the problems and parameters, and what students can and cannot check
  (rendered from student_template/README.md.j2; the words come from grader/handout_text.py);
- ``assignment.json``: the problems in the course's terms (grader/handout_spec.py), which make the
  scripts below this course's;
- ``make_outputs.py``, ``self_check.py``, ``code_base/gradient_check.py`` and ``kit/``: the same for
  every course, copied as they are;
- ``kit/dropout_stats.py``: the grader's own dropout statistics, copied from the grader module at
  generation time (grader/source_copy.py), so that the self-check and the grader cannot disagree;
- ``input_files/``: the spec's input files, checked against it.

Never the reference, expected/ or anything computed from it, and not the spec: students need
nothing of cnngrade, only NumPy. The reference and the expected outputs stay with the course staff
(they ship in the autograder, not in the hand-out).

The template lives at the repository root (student_template/). A source checkout or an editable
install finds it there; ``pip install .`` installs a copy under ``<prefix>/share/cnngrade/`` (the
``[tool.setuptools.data-files]`` table of pyproject.toml), which is searched next.
"""
import shutil
import uuid
from pathlib import Path

import jinja2

from grader.assignment.generate import read_inputs
from grader.assignment.spec import load_spec
from grader.errors import GraderError
from grader.handout_spec import HANDOUT_SPEC_NAME, handout_spec_text
from grader.handout_text import handout_words, rewrap
from grader.installed import data_candidates
from grader.judge import dropout, exact, mask_structure, tolerance
from grader.source_copy import standalone_source

TEMPLATE_DIRNAME = "student_template"
# Files handed out as they are, relative to the template folder; pyproject.toml's data-files
# must install them all.
TEMPLATE_FILES = (
    "make_outputs.py",
    "self_check.py",
    "code_base/__init__.py",
    "code_base/gradient_check.py",
    "kit/__init__.py",
    "kit/assignment.py",
    "kit/checks.py",
    "kit/files.py",
    "kit/layer_checks.py",
    "kit/file_checks.py",
)
# Files rendered from a spec: hand-out name -> jinja2 template in the template folder.
RENDERED_FILES = {
    "README.md": "README.md.j2",
    "code_base/layers.py": "code_base/layers.py.j2",
}
# Grader modules handed out as standalone copies: hand-out file -> module. The dropout statistics
# are the grader's own, with the modules they import (source_copy refuses any it is not given).
COPIED_MODULES = {"kit/tolerance.py": tolerance, "kit/exact.py": exact,
                  "kit/mask_structure.py": mask_structure, "kit/dropout_stats.py": dropout}
INPUTS_DIRNAME = "input_files"


def template_candidates():
    """The folders searched for the template, in order."""
    return data_candidates(TEMPLATE_DIRNAME, TEMPLATE_DIRNAME)


def find_template():
    """The folder holding every file of the student template, or a GraderError saying where it looked."""
    candidates = template_candidates()
    needed = TEMPLATE_FILES + tuple(RENDERED_FILES.values())
    for candidate in candidates:
        if all((candidate / name).is_file() for name in needed):
            return candidate
    raise GraderError("cannot find the student template (student_template/); looked in "
                      + ", ".join(str(c) for c in candidates)
                      + ". Reinstall cnngrade, or run from a source checkout.")


def render_handout_files(assignment, template_dir):
    """The hand-out's files made for ``assignment``: name -> text (README, skeleton, JSON, copies)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)), autoescape=False,  # Python and Markdown
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True)
    environment.filters["wrap"] = rewrap
    words = handout_words(assignment)
    texts = {name: environment.get_template(source).render(**words)
             for name, source in RENDERED_FILES.items()}
    texts[HANDOUT_SPEC_NAME] = handout_spec_text(assignment)
    kit_names = {module.__name__: name[:-len(".py")].replace("/", ".")
                 for name, module in COPIED_MODULES.items()}
    for name, module in COPIED_MODULES.items():
        texts[name] = standalone_source(module, kit_names)
    return texts


def write_template(out_dir, inputs_dir="input_files", spec_path="assignment.toml"):
    """Write the student hand-out for the spec at ``spec_path`` into the new or empty folder
    ``out_dir``; return the paths written.

    The spec's input files are read from ``inputs_dir`` (and checked against the spec) into
    ``input_files/``. The folder appears complete or not at all.
    """
    out_dir = Path(out_dir)
    assignment = load_spec(spec_path)
    read_inputs(assignment, inputs_dir)  # refuses missing, malformed or wrongly sized inputs
    template_dir = find_template()
    texts = render_handout_files(assignment, template_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GraderError("exists and is not a folder: choose another place for the template",
                          path=out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise GraderError("is not empty: refusing to overwrite it; choose a new folder or empty "
                          "this one", path=out_dir)

    sources = {name: template_dir / name for name in TEMPLATE_FILES}
    sources.update({f"{INPUTS_DIRNAME}/{spec.filename}": Path(inputs_dir) / spec.filename
                    for spec in assignment.inputs})
    staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex}.tmp"
    try:
        staging.mkdir(parents=True)  # like any new folder (not mkdtemp's owner-only mode)
        for name, source in sources.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        for name, text in texts.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))  # "\n" line ends on every system
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
    return [out_dir / name for name in sorted([*sources, *texts])]
