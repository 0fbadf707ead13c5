"""Reading and writing the assignment's CSV files.

Written: one value per line, flattened in row-major (C) order, printed with ``%.18e``, ``\\n`` line
ends; or, for the "rows" format (dropout), a 2-D array with one row per line, values separated by
spaces, as ``np.savetxt(path, array, fmt='%.18e', delimiter=' ')`` writes it.

Read: what the grader reads. Numbers separated by commas and/or blanks, any number per line, in
row-major order; CRLF line ends, a UTF-8 BOM and a trailing comma are fine. An empty file, text,
an empty value (``1,,2``), NaN or Inf, or bytes that are not UTF-8 text are refused with the line
and column.
"""
import math
import re

import numpy as np

VALUE_FORMAT = "%.18e"

# A number as the grader reads one: plain or scientific notation (Fortran's D exponent too), ASCII.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eEdD][+-]?[0-9]+)?", re.ASCII)
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_FIELD = re.compile(r"[^ \t\f\v,]+|,")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class FileFormatError(ValueError):
    """A file the grader cannot read as numbers; the message says where and why."""


def _located(path, line, column, what):
    return FileFormatError(f"{path.name}, line {line}, column {column}: {what}")


def read_values(path):
    """Every number in the file at ``path``, in order, as a 1-D float64 array."""
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if b"\x00" in data:
        raise FileFormatError(f"{path.name}: binary content, not text; write it with np.savetxt")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{path.name}: byte {e.start} is not UTF-8 text; write plain text "
                              "with np.savetxt") from None
    values = []
    for line_number, line in enumerate(_LINE_BREAK.split(text), start=1):
        fields = list(_FIELD.finditer(line))
        for k, field in enumerate(fields):
            token, column = field.group(), field.start() + 1
            if token == ",":
                if k == 0 or fields[k - 1].group() == ",":
                    raise _located(path, line_number, column, "an empty value (two commas, or a "
                                                              "comma first on the line)")
                continue
            if _NONFINITE.fullmatch(token):
                raise _located(path, line_number, column, f"{token} is not a finite number; "
                                                          "your layer produced NaN or Inf here")
            if not _NUMBER.fullmatch(token):
                shown = token if len(token) <= 30 else token[:27] + "..."
                raise _located(path, line_number, column, f"{shown!r} is not a number")
            values.append(float(token.replace("d", "e").replace("D", "e")))
    if not values:
        raise FileFormatError(f"{path.name}: holds no numbers")
    array = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        index = int(np.flatnonzero(~np.isfinite(array))[0])
        raise FileFormatError(f"{path.name}: value {index + 1} is too large for a float64")
    return array


def read_array(path, shape):
    """The array of ``shape`` in the file at ``path``; a FileFormatError if the count differs."""
    values = read_values(path)
    size = math.prod(shape)
    if values.size != size:
        raise FileFormatError(f"{path.name}: holds {values.size} values, but shape {tuple(shape)} "
                              f"needs {size}")
    return values.reshape(shape)


def format_array(array, file_format):
    """The text of an output file for ``array``, whatever its shape.

    "values": one value per line, row-major. "rows": one row per line; an array that is not 2-D
    (a layer's mistake) is written as rows along its first axis, so that nothing is lost.
    """
    array = np.asarray(array, dtype=np.float64)
    if array.size == 0:
        return ""
    if file_format == "rows":
        rows = array.reshape(1, -1) if array.ndim < 2 else array.reshape(array.shape[0], -1)
        return "".join(" ".join(VALUE_FORMAT % v for v in row) + "\n" for row in rows)
    return "".join(VALUE_FORMAT % v + "\n" for v in array.ravel(order="C"))
