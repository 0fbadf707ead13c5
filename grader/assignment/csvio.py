"""Writing arrays in the assignment's file format (reading students' files is grader/intake/reading.py).

One value per line in row-major (C) order, ``%.18e``, ``\\n``, no header; or, for the ``rows``
format (dropout), a 2-D array with its rows on lines and values separated by spaces, as
``np.savetxt`` writes it. ``%.18e`` round-trips float64 exactly, so files are byte-identical for
identical arrays.
"""
import numpy as np

from grader.atomic import write_bytes_atomic

VALUE_FORMAT = "%.18e"


def format_array(array, file_format="values"):
    """The file's text for ``array``: ``values`` (one per line) or ``rows`` (2-D, rows on lines)."""
    array = np.asarray(array, dtype=np.float64)
    if file_format == "rows":
        if array.ndim != 2:
            raise ValueError(f"the 'rows' format needs a 2-D array, got shape {array.shape}")
        return "".join(" ".join(VALUE_FORMAT % v for v in row) + "\n" for row in array)
    return "".join(VALUE_FORMAT % v + "\n" for v in array.ravel(order="C"))


def write_array(path, array, file_format="values"):
    """Write ``array`` to ``path`` atomically in the given format."""
    write_bytes_atomic(path, format_array(array, file_format).encode("ascii"))
