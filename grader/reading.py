"""Reading a student's output file: lenient about layout, strict about content.

Accepted (DESIGN.md, File format): comma and/or whitespace separators, any number of values per
line read in row-major order, CRLF, a trailing delimiter, a UTF-8 BOM, plain or scientific
notation. Refused with a located SubmissionError whose ``code`` is a diagnosis code: an empty
file, header text, a non-numeric token, NaN or Inf, binary or non-UTF-8 content, a file over the
size cap, a folder or a link, and (read_array) the wrong number of values.
"""
import os
import re
import stat
from pathlib import Path

import numpy as np

from .errors import SubmissionError

# The longest plausible token is "-1.234567890123456789e-308" (26 chars) plus a separator; a file
# larger than this many bytes per expected value is not an answer, whatever it holds.
BYTES_PER_VALUE_CAP = 64
MIN_BYTES_CAP = 64 * 1024

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s]+")


class CountMismatch(SubmissionError):
    """The file parsed but holds the wrong number of values; ``values`` lets diagnosis look."""

    def __init__(self, message, path, expected, found, values):
        super().__init__(message, path=path, code="wrong_count")
        self.expected = expected
        self.found = found
        self.values = values


def byte_cap(expected_count):
    return max(MIN_BYTES_CAP, BYTES_PER_VALUE_CAP * expected_count)


def read_bytes_capped(path, max_bytes):
    """The bytes of the regular file at ``path``, refusing links, folders and files over the cap
    without reading them whole."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise SubmissionError("file not found", path=path, code="missing_file") from None
    except OSError as e:
        raise SubmissionError(f"cannot read: {e.strerror}", path=path, code="parse_error") from None
    if stat.S_ISLNK(info.st_mode):
        raise SubmissionError("is a link; hand in the file itself", path=path, code="parse_error")
    if stat.S_ISDIR(info.st_mode):
        raise SubmissionError("is a folder, not a file", path=path, code="parse_error")
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError("is not a regular file", path=path, code="parse_error")
    if info.st_size > max_bytes:
        raise SubmissionError(
            f"is {info.st_size:,} bytes, more than the {max_bytes:,} any answer needs: "
            "not read", path=path, code="parse_error")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise SubmissionError(f"cannot read: {e.strerror}", path=path, code="parse_error") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew after the size check
        raise SubmissionError(f"is more than the {max_bytes:,} bytes any answer needs: not read",
                              path=path, code="parse_error")
    return data


def parse_values(data, path):
    """The numbers in ``data`` (bytes) in reading order, as a 1-D float64 array."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SubmissionError(f"binary content (a NUL byte at byte {nul}); expected text",
                              path=path, code="parse_error")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"not UTF-8 text (byte {e.start} is 0x{data[e.start]:02x}); "
                              "expected plain text numbers", path=path, code="parse_error") from None
    if not text.strip():
        raise SubmissionError("empty file: no values", path=path, code="parse_error")
    tokens = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        line_tokens = [t for t in _SEPARATORS.split(line) if t]
        for column, token in enumerate(line_tokens, start=1):
            if not _NUMBER.fullmatch(token):
                raise _bad_token(token, line_number, column, line, path, not tokens)
        tokens.extend(line_tokens)
    return np.array(tokens, dtype=np.float64)


def _bad_token(token, line_number, column, line, path, first_line):
    shown = token if len(token) <= 40 else token[:37] + "..."
    if _NONFINITE.fullmatch(token):
        return SubmissionError(f"value {column} is {shown!r}: NaN and Inf are not answers",
                               path=path, line=line_number, column=column, code="nonfinite")
    if first_line and re.search(r"[A-Za-z_]{2,}", line):
        return SubmissionError(f"{shown!r} looks like header text; write numbers only, no header",
                               path=path, line=line_number, column=column, code="parse_error")
    return SubmissionError(f"value {column} is {shown!r}, not a number",
                           path=path, line=line_number, column=column, code="parse_error")


def read_values(path, max_bytes=MIN_BYTES_CAP):
    """All the values in the file at ``path``, 1-D, in reading (row-major) order."""
    return parse_values(read_bytes_capped(path, max_bytes), path)


def read_array(path, shape):
    """The file at ``path`` as an array of ``shape``, or a located SubmissionError."""
    count = int(np.prod(shape))
    values = read_values(path, byte_cap(count))
    if values.size != count:
        raise CountMismatch(
            f"holds {values.size} values; expected {count} (shape {tuple(shape)})",
            path=path, expected=count, found=values.size, values=values)
    return values.reshape(shape)
