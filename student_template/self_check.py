"""Check your layers and your output files before you hand anything in.

    python self_check.py

First your layers (code_base/layers.py), as the assignment notebook checks them: its published
values, this assignment's output shapes, numerical gradient checks of every backward pass
(CS231n's rel_error: around 1e-8 or less when correct) and the behaviour of dropout. Then your
output files (output_files/, as make_outputs.py wrote them): names, counts and format as the
grader reads them, and the dropout outputs judged by the grader's own statistics.

Each check prints PASS, FAIL or NOT IMPLEMENTED with its figures, and a hint when it fails.
Exit code 0 if every check passes, 1 otherwise. Needs only NumPy.

What it cannot tell you: whether your convolution and pooling outputs equal the expected values.
Those are graded against the course's reference after you hand in (README.md says why the
reference is not in this folder). Passing here is strong evidence, not proof; a failure here
always means something to fix.
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kit.assignment import load_assignment  # noqa: E402
from kit.checks import FAIL, NOT_IMPLEMENTED, PASS, one_line, run_check  # noqa: E402
from kit.file_checks import file_checks  # noqa: E402
from kit.layer_checks import layer_checks  # noqa: E402

CODE_DIR = HERE / "code_base"
INDENT = " " * 18


def load_layers():
    from code_base import layers
    return layers


def run_section(heading, checks, failing):
    """Run ``checks`` under ``heading``, printing each; return their statuses.

    ``failing`` maps a layer function to what is wrong with it (its first check that did not
    pass); a failing check that runs such a function says so instead of giving its own hint.
    """
    print(f"\n{heading}")
    statuses = []
    for check in checks:
        status, figures = run_check(check, CODE_DIR)
        statuses.append(status)
        print(f"{status:<15}   {check.title}")
        for line in str(figures).splitlines():
            print(f"{INDENT}{line}")
        blocking = [f for f in check.needs if f in failing and f != check.function]
        if status == FAIL and blocking:
            needed = blocking[0]
            note = check.blocked.format(needed=needed, why=failing[needed], function=check.function)
            print(f"{INDENT}note: {note}")
        elif status == FAIL and check.hint:
            print(f"{INDENT}hint: {check.hint}")
        if status == NOT_IMPLEMENTED:
            failing.setdefault(check.function, f"{check.function} is not implemented yet")
        elif status == FAIL:
            failing.setdefault(check.function, f"{check.function} fails a check above "
                                               f"({check.title})")
    return statuses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=Path, default=HERE / "input_files",
                        help="folder of input files (default: input_files/ next to this script)")
    parser.add_argument("--outputs", type=Path, default=HERE / "output_files",
                        help="folder of your output files (default: output_files/ next to this script)")
    args = parser.parse_args(argv)
    try:
        assignment = load_assignment(HERE)
    except ValueError as e:
        print(e)
        return 1

    try:
        load_layers()
    except Exception as e:  # a syntax error in layers.py, say: no check can run
        print(f"Cannot import code_base/layers.py: {one_line(e, CODE_DIR)}")
        print("To do: fix code_base/layers.py so that it imports, then run python self_check.py "
              "again.")
        return 1

    failing = {}
    layer_statuses = run_section("Your layers (code_base/layers.py)",
                                 layer_checks(assignment, load_layers), failing)
    file_statuses = run_section(f"Your output files ({args.outputs.name}/)",
                                file_checks(assignment, args.outputs, args.inputs,
                                            CODE_DIR / "layers.py"), failing)
    statuses = layer_statuses + file_statuses
    counts = {s: statuses.count(s) for s in (PASS, FAIL, NOT_IMPLEMENTED)}
    print(f"\n{counts[PASS]} of {len(statuses)} checks passed, {counts[FAIL]} failed, "
          f"{counts[NOT_IMPLEMENTED]} not implemented.")
    if counts[PASS] == len(statuses):
        print(f"Next: hand in the {len(file_statuses)} files of {args.outputs.name}/ "
              "(README.md, step 4).")
        return 0
    if any(status != PASS for status in layer_statuses):
        print("To do: fix code_base/layers.py until every layer check passes, then run "
              "python make_outputs.py and python self_check.py again.")
    else:
        print("To do: your layers pass; run python make_outputs.py to rewrite the output files "
              "from them, then python self_check.py again.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
