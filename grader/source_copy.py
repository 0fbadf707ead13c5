"""A grader module's source, made to run on its own where only NumPy is installed.

The hand-out's self-check runs the grader's own dropout statistics, so that a student sees the
verdict the grader will give. Rather than keep a second copy by hand, ``cnngrade template`` copies
the module's source at generation time. A student has NumPy and nothing of cnngrade, so the copy
may import only NumPy and the standard library; the module's imports from its own package are
allowed only for constants (numbers, strings, tuples of them), which are written into the copy as
assignments. Anything else is refused: the grader module must then stay numpy-only.
"""
import ast
import importlib
import inspect
import sys
from pathlib import Path

from .errors import GraderError

ALLOWED_PACKAGES = {"numpy"}
_CONSTANT_TYPES = (bool, int, float, str, type(None))


def _is_constant(value):
    if isinstance(value, tuple):
        return all(_is_constant(v) for v in value)
    return isinstance(value, _CONSTANT_TYPES)


def _allowed(module_name):
    top = module_name.split(".")[0]
    return top in ALLOWED_PACKAGES or top in sys.stdlib_module_names


def standalone_source(module):
    """The source of ``module`` (an imported module), made standalone; a GraderError otherwise.

    The first lines say where it was copied from; the imports of constants from the module's own
    package are replaced, line for line, by assignments of their values. Nothing else changes.
    """
    path = Path(inspect.getsourcefile(module))
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    where = f"{module.__name__} ({path.name})"
    replacements = {}  # first line (0-based) -> (last line, replacement text)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed(alias.name):
                    raise GraderError(f"{where} imports {alias.name}, which a student's hand-out "
                                      "does not have: a module shared with students may import "
                                      "only NumPy and the standard library")
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if not _allowed(node.module):
                raise GraderError(f"{where} imports from {node.module}, which a student's hand-out "
                                  "does not have: a module shared with students may import only "
                                  "NumPy and the standard library")
        elif isinstance(node, ast.ImportFrom):
            replacements[node.lineno - 1] = (node.end_lineno - 1,
                                             _constants_text(module, node, where, lines[node.lineno - 1]))
    out = [f"# Copied from cnngrade's {module.__name__} by `cnngrade template`: the grader runs\n",
           "# this same code on your hand-in. Only its imports of the grader's constants are\n",
           "# replaced by their values. Do not edit.\n"]
    index = 0
    while index < len(lines):
        if index in replacements:
            last, text = replacements[index]
            out.append(text)
            index = last + 1
        else:
            out.append(lines[index])
            index += 1
    return "".join(out)


def _constants_text(module, node, where, first_line):
    """``from .x import A, B`` as ``A = <value>`` lines, indented as the import was."""
    relative = "." * node.level + (node.module or "")
    imported = importlib.import_module(relative, package=module.__package__)
    indent = first_line[:len(first_line) - len(first_line.lstrip())]
    text = []
    for alias in node.names:
        value = getattr(imported, alias.name, None) if alias.name != "*" else None
        if alias.name == "*" or not _is_constant(value):
            raise GraderError(f"{where} imports {alias.name} from {relative}, which is not a constant "
                              "that can be copied with it: a module shared with students may take "
                              "only numbers and strings from the grader")
        text.append(f"{indent}{alias.asname or alias.name} = {value!r}  # from {relative}\n")
    return "".join(text)
