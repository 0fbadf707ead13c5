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

from grader.errors import GraderError

ALLOWED_PACKAGES = {"numpy"}
GRADER_PACKAGE = "grader"  # its modules: copied beside, or their constants written in
_CONSTANT_TYPES = (bool, int, float, str, type(None))


def _is_constant(value):
    if isinstance(value, tuple):
        return all(_is_constant(v) for v in value)
    return isinstance(value, _CONSTANT_TYPES)


def _allowed(module_name):
    top = module_name.split(".")[0]
    return top in ALLOWED_PACKAGES or top in sys.stdlib_module_names


def standalone_source(module, copied=None):
    """The source of ``module`` (an imported module), made standalone; a GraderError otherwise.

    ``copied`` maps the grader modules copied into the hand-out beside this one to their names
    there (``{"grader.judge.tolerance": "kit.tolerance"}``): imports of those are re-pointed. The
    first lines say where the copy came from; imports of constants from the grader are replaced,
    line for line, by assignments of their values. Nothing else changes.
    """
    copied = copied or {}
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
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _allowed(node.module):
            continue
        elif (isinstance(node, ast.ImportFrom) and node.level == 0
              and node.module.split(".")[0] != GRADER_PACKAGE):
            raise GraderError(f"{where} imports from {node.module}, which a student's hand-out "
                              "does not have: a module shared with students may import only "
                              "NumPy and the standard library")
        elif isinstance(node, ast.ImportFrom):
            first = lines[node.lineno - 1]
            text = (_repointed_text(node, copied, first)
                    or _constants_text(module, node, where, first))
            replacements[node.lineno - 1] = (node.end_lineno - 1, text)
    out = [f"# Copied from cnngrade's {module.__name__} by `cnngrade template`: the grader runs\n",
           "# this same code on your hand-in. Only its imports from the grader are re-pointed to\n",
           "# the copies beside it or replaced by their values. Do not edit.\n"]
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


def _repointed_text(node, copied, first_line):
    """``from grader.judge import tolerance`` (or ``from grader.judge.tolerance import x``) as the
    same import of the hand-out's copy; None when the import names no copied module."""
    if node.level or not node.module:
        return None
    indent = first_line[:len(first_line) - len(first_line.lstrip())]
    names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in node.names)
    if node.module in copied:
        return f"{indent}from {copied[node.module]} import {names}\n"
    targets = [copied.get(f"{node.module}.{a.name}") for a in node.names]
    if all(targets):
        package = {t.rpartition(".")[0] for t in targets}
        if len(package) == 1:
            return f"{indent}from {package.pop()} import {names}\n"
    return None


def _constants_text(module, node, where, first_line):
    """``from .x import A, B`` as ``A = <value>`` lines, indented as the import was."""
    relative = "." * node.level + (node.module or "")
    imported = importlib.import_module(relative, package=module.__package__ if node.level else None)
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
