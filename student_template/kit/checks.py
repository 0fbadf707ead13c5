"""One check of the self-check, how it is run, and how an error is told in one line."""
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

PASS, FAIL, NOT_IMPLEMENTED = "PASS", "FAIL", "NOT IMPLEMENTED"


@dataclass(frozen=True)
class Check:
    """A check: ``run()`` returns ``(passed, figures)``, figures being one or more lines.

    ``function`` is the layer function it judges (or the file it reads); ``needs`` the layer
    functions it runs besides (a gradient check runs your forward pass): when one of those fails
    its own checks, a failure here is put down to it, in the words of ``blocked``, rather than
    explained with this check's ``hint``. ``blocked`` is formatted with ``needed`` (the function),
    ``why`` (what is wrong with it) and ``function``.
    """

    title: str
    run: object
    function: str
    hint: str = ""
    needs: tuple = ()
    blocked: str = ("{why}. This check runs YOUR {needed}, so it cannot judge {function} until "
                    "{needed} passes: fix {needed} first.")


def run_check(check, code_dir):
    """``(status, figures)`` for ``check``; whatever a student's layer raises is reported."""
    try:
        passed, figures = check.run()
    except NotImplementedError as e:
        return NOT_IMPLEMENTED, one_line(e, code_dir)
    except Exception as e:  # a student's layer may raise anything: report it, carry on
        return FAIL, f"raised {one_line(e, code_dir)}"
    return (PASS if passed else FAIL), figures


# NumPy API that layer code written for NumPy 1.x (CS231n 2016-19 and its copies) still uses,
# removed in NumPy 1.24 or 2.0: the name as the error gives it -> what to write instead.
REMOVED_NUMPY = {
    "numpy.lib.pad": "np.pad", "numpy.float": "float or np.float64", "numpy.int": "int or np.int64",
    "numpy.bool": "bool or np.bool_", "numpy.object": "object", "numpy.asscalar": "a.item()",
    "numpy.product": "np.prod", "numpy.cumproduct": "np.cumprod", "numpy.sometrue": "np.any",
    "numpy.alltrue": "np.all", "numpy.NaN": "np.nan", "numpy.NAN": "np.nan", "numpy.Inf": "np.inf",
    "numpy.Infinity": "np.inf", "numpy.NINF": "-np.inf", "numpy.PINF": "np.inf",
    "numpy.float_": "np.float64", "numpy.round_": "np.round", "numpy.in1d": "np.isin",
    "numpy.row_stack": "np.vstack", "numpy.alen": "len(a)", "numpy.asfarray": "np.asarray(a, dtype=float)",
}
_NO_ATTRIBUTE = re.compile(r"module '(numpy(?:\.\w+)*)' has no attribute '(\w+)'|`np\.(\w+)` was removed")


def numpy_hint(exc):
    """What to write instead when ``exc`` comes from NumPy API removed in NumPy 2 (or 1.24), or
    from int()/float() of an array; "" otherwise."""
    message = str(exc)
    found = _NO_ATTRIBUTE.search(message) if isinstance(exc, AttributeError) else None
    if found:
        name = f"{found.group(1)}.{found.group(2)}" if found.group(1) else f"numpy.{found.group(3)}"
        if name in REMOVED_NUMPY:
            shown = name.replace("numpy", "np", 1)
            return f"{shown} was removed from NumPy (your code was written for NumPy 1.x): use {REMOVED_NUMPY[name]}"
    if isinstance(exc, TypeError) and "arrays can be converted to Python scalars" in message:
        return ("int() or float() of an array: NumPy 2 converts only 0-d arrays; take one element "
                "with a.item() or a[0], or keep the array")
    return ""


def one_line(exc, code_dir):
    """``Type: first line of the message``, with where in ``code_dir`` (code_base/) it was raised,
    and what to write instead when the layer used NumPy API that is gone."""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    lines = str(message).strip().splitlines()
    text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    if isinstance(exc, SyntaxError) and exc.filename:
        return text + f" ({Path(exc.filename).name}, line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent == Path(code_dir).resolve()]
    if frames:
        text += f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    hint = numpy_hint(exc)
    return f"{text}; {hint}" if hint else text


def describe(value):
    """What a layer returned, for a message: "None", "an array of shape (2, 3)", "a list"."""
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(value).__name__}"
