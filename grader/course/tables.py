"""Reading the small CSV tables instructors bring (a roster, overrides) into pandas, the same way.

What a spreadsheet or an LMS writes is accepted: UTF-8 with or without a byte-order mark, a comma,
semicolon or tab as the separator (Canvas and Excel write semicolons in locales whose decimal
mark is a comma), quoted cells. Every cell is read as text, nothing is guessed to be a number or
a missing value, so an id such as ``007`` or ``NA`` stays what it is.

Rows are numbered as a spreadsheet numbers them: the header is row 1 and the first data row is
row 2. Blank lines are kept as (empty) rows so that the numbering stays true; callers skip them.
"""
import csv
import io
import re
import unicodedata
from pathlib import Path

import pandas as pd

from grader.errors import GraderError

FIRST_DATA_ROW = 2  # the header is row 1
_SEPARATORS = (",", ";", "\t")


def header_key(text):
    """A column name as compared: case, spacing, ``_ - .`` and a byte-order mark ignored, so
    that ``Student ID``, ``student_id`` and `` STUDENT-ID`` are one name."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return " ".join(re.sub(r"[_\-.]+", " ", text).casefold().split())


def read_table(path, what):
    """The CSV at ``path`` as a DataFrame of strings ('' for an empty cell).

    ``what`` names the file in messages ("roster", "overrides"). Raises GraderError, naming the
    file, if it cannot be read, is not UTF-8 text, or holds no header.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise GraderError(f"cannot read the {what}: {e.strerror}", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise GraderError(f"the {what} is not UTF-8 text (byte {raw[e.start]:#04x}); save it "
                          "as 'CSV UTF-8'", path=path, line=line) from None
    if not text.strip():
        raise GraderError(f"the {what} is empty", path=path)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=_separator(text), dtype=str,
                            keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, csv.Error) as e:
        raise GraderError(f"the {what} is not a readable CSV table: {e}", path=path) from None
    return frame.fillna("")


def _separator(text):
    """The separator of the header line: a comma unless the header holds none and a semicolon
    or a tab instead."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    if counts[","]:
        return ","
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def find_column(columns, names):
    """The first of ``columns`` whose :func:`header_key` is one of ``names`` (in the order of
    ``names``), or None."""
    keyed = {}
    for column in columns:
        keyed.setdefault(header_key(column), column)
    return next((keyed[name] for name in names if name in keyed), None)


def is_blank(record):
    """True for a row whose every cell is empty or spaces (a blank line, or ``,,,``)."""
    return all(not str(value).strip() for value in record.values())


def shown_columns(columns, limit=12):
    """The columns of a table as a message lists them."""
    names = [repr(str(c)) for c in columns]
    if len(names) > limit:
        names = names[:limit] + [f"... ({len(columns) - limit} more)"]
    return ", ".join(names) if names else "none"
