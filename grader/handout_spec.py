"""What a hand-out's scripts know about the assignment: assignment.json, in the course's own terms.

The hand-out's make_outputs.py and self_check.py are the same for every course; assignment.json
makes them this course's. It holds the problems in the spec's order, each with its input and output
files and their shapes (in the course's layout), and its parameters AS THE COURSE STATES THEM:
the students' layers receive exactly these (a total pad stays the total, a keep-probability ``p``
stays the keep probability), so the hand-out, the assignment sheet and the grader's diagnoses all
speak the course's language. The drop probability is given beside ``p`` for the statistics.

It never holds anything the reference computed beyond output shapes (which the README states
anyway), nor the spec's seed: students' dropout masks are their own.
"""
import json

from grader.assignment import ops

HANDOUT_SPEC_NAME = "assignment.json"
# Bumped when the file's fields change, so that a script can refuse a file it does not understand.
HANDOUT_SPEC_FORMAT = 1

# The layer functions each op runs, in the order a student meets them: a backward problem needs
# its forward pass for the cache.
FUNCTIONS = {
    "conv_forward": ("conv_forward",),
    "conv_backward": ("conv_forward", "conv_backward"),
    "maxpool_forward": ("max_pool_forward",),
    "maxpool_backward": ("max_pool_forward", "max_pool_backward"),
    "dropout_forward": ("dropout_forward",),
    "dropout_backward": ("dropout_forward", "dropout_backward"),
}
FUNCTION_ORDER = ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
                  "dropout_forward", "dropout_backward")

# Parameters a spec may leave out, as the spec layer defaults them (grader/spec.py).
_PARAM_DEFAULTS = {"stride": 1, "pad": 0}


def layer_functions(assignment):
    """The layer functions the assignment's problems call, in FUNCTION_ORDER."""
    used = {f for problem in assignment.problems for f in FUNCTIONS[problem.op]}
    return [f for f in FUNCTION_ORDER if f in used]


def course_params(problem):
    """The parameters a student's layer receives: the spec's own, defaults filled in, no seed.

    Pairs stay pairs (JSON lists); the scripts turn them into tuples.
    """
    names = [name for name in ops.OPS[problem.op].params if name != "seed"]
    params = {}
    for name in names:
        if name in problem.params:
            params[name] = problem.params[name]
        elif name in _PARAM_DEFAULTS:
            params[name] = _PARAM_DEFAULTS[name]
    return params


def handout_spec(assignment):
    """assignment.json's content for ``assignment`` (a plain dict, ready for json.dumps)."""
    problems = []
    for problem in assignment.problems:
        entry = {
            "name": problem.name,
            "op": problem.op,
            "file_format": problem.file_format,
            "params": course_params(problem),
            "inputs": {i.role: {"file": i.file, "shape": list(i.shape)} for i in problem.inputs},
            "outputs": {o.role: {"file": o.file, "shape": list(o.shape), "statistical": o.statistical,
                                 "rtol": o.rtol, "atol": o.atol}
                        for o in problem.outputs},
        }
        if problem.drop_prob is not None:
            entry["drop_prob"] = problem.drop_prob
        problems.append(entry)
    return {
        "format": HANDOUT_SPEC_FORMAT,
        "name": assignment.name,
        "layout": assignment.layout,
        "pad_convention": assignment.pad_convention,
        "dropout_p_means": assignment.dropout_p_means,
        "functions": layer_functions(assignment),
        "problems": problems,
    }


def handout_spec_text(assignment):
    """assignment.json's text: indented, in the spec's order, ``\\n`` line ends, deterministic."""
    return json.dumps(handout_spec(assignment), indent=2) + "\n"
