"""The self-check's checks of your output files: what the grader looks at before it grades.

For every output of the assignment: the file is in output_files/, was written after your last
change to code_base/layers.py, reads as numbers under the grader's rules, and holds as many values
as its shape needs. Dropout outputs are then judged as the grader judges them: a train output by
the grader's own statistics (dropout_stats.py, copied from the grader), a test output against the
input it came from (test mode is the identity). Convolution and pooling outputs are graded against
the course's reference after you hand them in: their values are not checked here.
"""
import numpy as np

from .checks import Check
from .dropout_stats import check_dropout_train
from .files import FileFormatError, read_array

MAKE_OUTPUTS = "python make_outputs.py"


class OutputFiles:
    """Where the output files, the input files and your layers are."""

    def __init__(self, outputs_dir, inputs_dir, layers_path):
        self.outputs_dir = outputs_dir
        self.inputs_dir = inputs_dir
        self.layers_path = layers_path

    def read(self, output):
        """``(array, None)``, or ``(None, why)`` when the file cannot be graded as it is."""
        path = self.outputs_dir / output.filename
        if not path.is_file():
            return None, f"not found: run {MAKE_OUTPUTS} (it says why an output could not be written)"
        if self.layers_path.is_file() and path.stat().st_mtime_ns < self.layers_path.stat().st_mtime_ns:
            return None, (f"written before your last change to code_base/layers.py: run "
                          f"{MAKE_OUTPUTS} again")
        try:
            return read_array(path, output.shape), None
        except FileFormatError as e:
            return None, str(e)


def _identity_result(got, source, output, source_name):
    """Test mode: every value equals its source within the grader's tolerance rule."""
    scale = float(np.max(np.abs(source))) or 1.0
    allowed = output.atol * scale + output.rtol * np.abs(source)
    wrong = np.abs(got - source) > allowed
    if not wrong.any():
        return True, (f"{got.size} values, each equal to {source_name} (test mode is the identity)")
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(wrong)), got.shape))
    return False, (f"{int(wrong.sum())} of {got.size} values differ from {source_name}; e.g. at "
                   f"index {index}: {got[index]:.6g}, where {source_name} is {source[index]:.6g}")


def _dropout_figures(verdict):
    """The grader's words for the verdict: its one-line summary when the output passes, and the
    figures of its feedback page (without their PASS/FAIL word) when it fails."""
    if verdict.passed:
        return verdict.message
    lines = verdict.describe().splitlines()
    if lines[0].startswith("FAIL: "):
        lines[0] = lines[0][len("FAIL: "):]
    return "\n".join(lines)


def _output_check(assignment, problem, output, files):
    source_role = "x" if problem.op == "dropout_forward" else "dout"

    def run():
        got, why = files.read(output)
        if got is None:
            return False, why
        if problem.op not in ("dropout_forward", "dropout_backward"):
            return True, (f"{got.size} values, as shape {output.shape} needs. Their values are "
                          "graded against the course's reference after you hand in, not here.")
        source = read_array(files.inputs_dir / problem.input(source_role).filename,
                            problem.input(source_role).shape)
        if not output.statistical:
            return _identity_result(got, source, output, source_role)
        verdict = check_dropout_train(got, source, problem.drop_prob, output.rtol, output.atol,
                                      source_name=source_role, course_p=problem.params["p"],
                                      p_means=assignment.dropout_p_means)
        return verdict.passed, _dropout_figures(verdict)

    hint = ""
    if output.statistical:
        hint = "the grader judges this file with these same statistics; fix your dropout layer"
    return Check(f"output_files/{output.filename}", run, output.filename, hint=hint,
                 needs=problem.functions,
                 blocked="{why}: fix it first, then run python make_outputs.py again.")


def file_checks(assignment, outputs_dir, inputs_dir, layers_path):
    """One check per output file of ``assignment``."""
    files = OutputFiles(outputs_dir, inputs_dir, layers_path)
    return [_output_check(assignment, problem, output, files)
            for problem in assignment.problems for output in problem.outputs]
