"""The platform graders' one door into cnngrade's grader.

Everything the platform modules need from the grader goes through here: which spec, inputs and
expected outputs a submission is graded against (``materials_in``), loading them once
(``load_materials``), grading one submission into a typed SubmissionResult (``grade``), and the
file names the spec asks for. The context is always built with
``show_expected=False``: a check's ``message`` is then fit for the student.
"""
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.pipeline import failed_submission, grade_submission, load_context

SPEC_NAME = "assignment.toml"
INPUTS_DIRNAME = "input_files"
EXPECTED_DIRNAME = "expected"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Materials:
    """Where the spec, the fixed inputs and the expected outputs of a graded assignment are."""

    spec: Path
    inputs: Path
    expected: Path


def materials_in(folder):
    """The materials a platform bundle holds in ``folder`` (as ``build`` lays them out).

    Every submission is graded against these; this is the one place that decides it.
    """
    folder = Path(folder)
    return Materials(folder / SPEC_NAME, folder / INPUTS_DIRNAME, folder / EXPECTED_DIRNAME)


def load_materials(materials):
    """The grading context for ``materials``; a GraderError if they do not belong together
    (a malformed spec, missing or stale expected outputs)."""
    return load_context(materials.spec, materials.inputs, materials.expected,
                        require_expected=True, show_expected=False)


def grade(path, context, submission_id="submission"):
    """Grade the folder or zip at ``path``: its SubmissionResult.

    Never raises for anything in the submission; a path that is not there at all (the platform
    delivered nothing) grades as a submission that could not be read.
    """
    try:
        result = grade_submission(path, context, submission_id=submission_id)
    except SubmissionError:
        result = failed_submission(submission_id, context, "no submission was found")
    return result


def output_filenames(context):
    """The file names of every output the spec asks students for, in the spec's order."""
    return [output.filename for output in context.assignment.outputs]


def input_filenames(context):
    return [spec.filename for spec in context.assignment.inputs]


def expected_filenames(context):
    """The files of expected/ that grading reads: one per deterministic output, and the manifest."""
    return [o.filename for o in context.assignment.outputs if not o.statistical] + [MANIFEST_NAME]


def assignment_name(context):
    return context.assignment.name
