"""One check of the self-check, how it is run, and how an error is told in one line."""
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


def one_line(exc, code_dir):
    """``Type: first line of the message``, with where in ``code_dir`` (code_base/) it was raised."""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    lines = str(message).strip().splitlines()
    text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    if isinstance(exc, SyntaxError) and exc.filename:
        return text + f" ({Path(exc.filename).name}, line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().parent == Path(code_dir).resolve()]
    if frames:
        text += f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    return text


def describe(value):
    """What a layer returned, for a message: "None", "an array of shape (2, 3)", "a list"."""
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(value).__name__}"
