"""The gradebook: one row per student, ready to import into an LMS.

Columns, in this order: ``id``, ``total``, ``max``, ``percent``, one column per output of the spec
(its score, in spec order), ``error`` (why a submission could not be read; empty otherwise) and
``notes`` (misnamed or extra files and where outputs were found: the first few, then a count). A
submission the grader failed on has empty score cells, not zeros.

The CSV is UTF-8 without a BOM, with a header row and ``\\n`` line ends; numbers are written with
at most 4 decimals and no trailing zeros (``7``, ``66.6667``), so the same batch always gives the
same bytes. It is written atomically.

Spreadsheet formula injection (OWASP, "CSV Injection"): a cell whose text a student controls (the
id, which comes from a folder or zip name, and the error text, which may quote a file name) is
prefixed with a single quote when it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return, so that Excel, LibreOffice and Google Sheets show it as text instead of evaluating it.
Numbers we compute are written as numbers, never prefixed, even when negative.
"""
import math
import re

import pandas as pd

from grader.atomic import write_text_atomic

FIXED_COLUMNS = ("id", "total", "max", "percent")
ERROR_COLUMN = "error"
NOTES_COLUMN = "notes"
NOTES_SHOWN = 5  # per student; the feedback page has them all
TEXT_COLUMNS = ("id", ERROR_COLUMN, NOTES_COLUMN)  # student-controlled text, neutralised
DECIMALS = 4

# OWASP's list of characters that make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WHITESPACE_RUN = re.compile(r"\s+")
_QUOTE_IF = (",", '"', "\r", "\n")


def neutralise(text):
    """``text`` made safe for a spreadsheet cell: prefixed with ``'`` if it could start a formula.

    Leading spaces are looked through (``" =1+1"`` is neutralised too): some spreadsheets trim
    them before deciding what a cell holds.
    """
    if text is None:
        return ""
    text = str(text)
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def format_number(value):
    """A score as gradebook text: at most 4 decimals, no trailing zeros, no ``-0``; '' for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{float(value):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def output_columns(assignment):
    """The per-output score columns, in spec order (each named after its output file)."""
    return [o.file for o in assignment.outputs]


def gradebook_frame(batch, assignment):
    """The gradebook as a DataFrame, one row per submission in batch order.

    ``total``, ``max``, ``percent`` and the output columns are float64 (NaN where a submission has
    no result for an output, and in every score of a submission the grader failed on); ``id``
    and ``error`` are strings, already neutralised (see :func:`neutralise`), with runs of
    whitespace in the error text folded into single spaces so every student stays on one line.
    """
    outputs = output_columns(assignment)
    rows = []
    for sub in batch.submissions:
        # A submission the grader failed on has no score: empty cells, never a zero to import.
        scores = {c.output: float(c.score) for c in sub.checks} if sub.graded else {}
        row = {
            "id": neutralise(sub.id),
            "total": float(sub.score) if sub.graded else math.nan,
            "max": float(sub.max_score),
            "percent": float(sub.percent) if sub.graded else math.nan,
        }
        for name in outputs:
            row[name] = scores.get(name, math.nan)
        error = _WHITESPACE_RUN.sub(" ", sub.error).strip() if sub.error else ""
        row[ERROR_COLUMN] = neutralise(error)
        row[NOTES_COLUMN] = neutralise(_notes_text(sub.notes))
        rows.append(row)
    columns = [*FIXED_COLUMNS, *outputs, ERROR_COLUMN, NOTES_COLUMN]
    frame = pd.DataFrame(rows, columns=columns)
    numeric = [c for c in columns if c not in TEXT_COLUMNS]
    frame[numeric] = frame[numeric].astype("float64")
    for name in TEXT_COLUMNS:
        frame[name] = frame[name].astype(object)
    return frame


def _notes_text(notes):
    """A submission's notes on one line: the first few, then how many were left out."""
    shown = [_WHITESPACE_RUN.sub(" ", str(note)).strip() for note in notes[:NOTES_SHOWN]]
    if len(notes) > NOTES_SHOWN:
        shown.append(f"and {len(notes) - NOTES_SHOWN} more")
    return " | ".join(shown)


def gradebook_csv(batch, assignment):
    """The gradebook CSV text (see the module docstring for the format)."""
    frame = gradebook_frame(batch, assignment)
    text_columns = set(TEXT_COLUMNS)
    lines = [",".join(_csv_cell(name) for name in frame.columns)]
    for record in frame.itertuples(index=False, name=None):
        lines.append(",".join(_csv_cell(value) if name in text_columns else format_number(value)
                              for name, value in zip(frame.columns, record)))
    return "\n".join(lines) + "\n"


def _csv_cell(text):
    """RFC 4180 quoting: a cell holding a comma, a double quote, CR or LF is quoted, its quotes
    doubled. (The csv module, told to end lines with ``\n``, would leave a lone CR unquoted.)"""
    text = str(text)
    if any(c in text for c in _QUOTE_IF):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_gradebook(path, batch, assignment):
    """Write the gradebook CSV to ``path`` atomically, synced to disk (it survives a power loss)."""
    write_text_atomic(path, gradebook_csv(batch, assignment), durable=True)
