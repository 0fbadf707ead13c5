"""Reading a student's output file: lenient about layout, strict about content.

Accepted (DESIGN.md, File format): comma and/or whitespace separators, any number of values per
line read in row-major order, CRLF (or a lone CR), a trailing delimiter, a UTF-8 BOM, plain or
scientific notation (``1``, ``-1.5``, ``+.5``, ``5.``, ``1e-3``, ``1.5E+07``), including Fortran's
``D`` exponent (``-5.335046350955963D-02``, as Fortran writes double precision): a number, and
nothing else, unambiguously.

Refused with a located SubmissionError whose ``code`` is a diagnosis code: an empty file, header
text, a non-numeric token, an empty value (``1,,2``), NaN or Inf (code ``nonfinite``, also for a
number too large for a float64), binary or non-UTF-8 content, a file over the size cap, a folder,
a link (wherever it points) or anything else that is not a regular file, and (read_array) the
wrong number of values (CountMismatch, code ``wrong_count``), or decimal commas (every value
written ``-0,0533``, which reads as two numbers: twice the count).

A bad token's message names what it is when it is recognisable: NumPy 2's ``np.float64(...)``
repr, a ``float.hex()`` hexadecimal float, brackets, a comment, a quoted value, a non-ASCII
character. "Header text" is said only of a word on the first line when the later lines are all
numbers (a real header); a word anywhere else, or on a first line followed by more words, is named
as what it is (or as not a number).

Numbers are ASCII only: Python's float() also takes ``1_000``, full-width or Arabic-Indic digits
and surrounding blanks, which are not numbers in a CSV file.

Speed: a file is first checked with a few bytes operations and parsed with float() (about 0.15 ms
for 600 values); only a file that fails is read again line by line, to say where and why.
"""
import math
import os
import re
import stat
import unicodedata
from pathlib import Path

import numpy as np

from grader.errors import SubmissionError
from grader.intake import confine

# The longest plausible token is "-1.234567890123456789e-308" (26 chars) plus a separator; a file
# larger than this many bytes per expected value is not an answer, whatever it holds.
BYTES_PER_VALUE_CAP = 64
MIN_BYTES_CAP = 64 * 1024

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eEdD][+-]?[0-9]+)?", re.ASCII)

# The fast path's test: a file made only of these bytes (after a BOM), with no empty value, whose
# tokens all convert with float() once Fortran's d/D exponent letters are read as e, is well
# formed. On this alphabet float() accepts exactly _NUMBER (no "_", "inf", "nan", non-ASCII digits
# or blanks can occur in a token).
_FAST_ALPHABET = b"0123456789.eEdD+-, \t\f\v\r\n"
_FORTRAN_EXPONENT = bytes.maketrans(b"dD", b"ee")
_HORIZONTAL_BLANKS = b" \t\f\v"
_BOM = b"\xef\xbb\xbf"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD = re.compile(r"[^ \t\f\v,]+|,")  # within one line: a token or a comma
_BLANKS = " \t\f\v\r\n"
_NONFINITE = re.compile(
    r"[+-]?(?:nan(?:\([a-z0-9_]*\))?|inf|infinity|[0-9]\.#(?:inf|qnan|snan|ind)[0-9]*)",
    re.IGNORECASE | re.ASCII)
# Letters other than an exponent's (or, counted in _looks_like_header, two exponent letters): a
# word, not a malformed number ("4e").
_HEADER_LETTERS = re.compile(r"[A-CF-Za-cf-z_]", re.ASCII)
_NUMPY_REPR = re.compile(r"(?:np|numpy)\.[A-Za-z_]+[0-9]*\(", re.ASCII)
# Written so that no two parts can match the same digits: a failed match gives back one digit at
# a time and fails at once, linear in the token (``[0-9a-f]+\.?[0-9a-f]*`` was quadratic: a
# 65,000-digit token took minutes).
_HEX_FLOAT = re.compile(r"[+-]?0x(?:[0-9a-f]+(?:\.[0-9a-f]*)?|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?",
                        re.IGNORECASE | re.ASCII)
# The longest token worth looking at: a float64 written exactly in positional notation takes at
# most 1,077 characters (the smallest subnormal, "%.1074f"). A longer token is refused by its
# length alone, before any pattern sees it, so that reading stays linear in the file's size.
MAX_TOKEN_CHARS = 1100
# A value written with a decimal comma, as a French or German locale (or Excel) writes it.
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+(?:[eEdD][+-]?[0-9]+)?", re.ASCII)

_MAGIC = (
    (b"\x93NUMPY", "a NumPy .npy file (np.save), not text; write it with np.savetxt"),
    (b"PK\x03\x04", "a zip archive or Excel workbook, not text; save it as plain-text CSV"),
    (b"\xff\xfe", "UTF-16 text (as Windows PowerShell's > writes it); save it as UTF-8 or ASCII"),
    (b"\xfe\xff", "UTF-16 text; save it as UTF-8 or ASCII"),
)


class CountMismatch(SubmissionError):
    """The file parsed but holds the wrong number of values; ``values`` lets diagnosis look.

    ``expected`` and ``found`` are counts; ``hint`` names a known mistake the count matches
    (an index column, a header row) or is None.
    """

    def __init__(self, message, path, expected, found, values, hint=None):
        super().__init__(message, path=path, code="wrong_count")
        self.expected = expected
        self.found = found
        self.values = values
        self.hint = hint


def byte_cap(expected_count):
    """The largest file, in bytes, accepted for an output of ``expected_count`` values."""
    return max(MIN_BYTES_CAP, BYTES_PER_VALUE_CAP * expected_count)


def read_bytes_capped(path, max_bytes):
    """The bytes of the regular file at ``path``, refusing links, folders, devices, FIFOs and
    files over ``max_bytes`` without reading them whole (nor opening FIFOs or devices). Below a
    submission held open (grader.intake.confine), no link anywhere on the path is followed."""
    path = path if isinstance(path, Path) else Path(path)
    try:
        info = confine.lstat(path)
    except FileNotFoundError:
        raise SubmissionError("file not found", path=path, code="missing_file") from None
    except OSError as e:
        raise SubmissionError(f"cannot read: {e.strerror}", path=path, code="parse_error") from None
    _check_regular(info, path, max_bytes)
    # O_NOFOLLOW and O_NONBLOCK: if the path was swapped for a link or a FIFO after lstat, the
    # open fails or returns at once instead of following the link or blocking; fstat re-checks.
    flags = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
             | getattr(os, "O_BINARY", 0))
    try:
        fd = confine.open_file(path, flags)
    except OSError as e:
        raise SubmissionError(f"cannot read: {e.strerror}", path=path, code="parse_error") from None
    with os.fdopen(fd, "rb") as f:
        _check_regular(os.fstat(f.fileno()), path, max_bytes)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew after the size check
        raise SubmissionError(f"is more than the {max_bytes:,} bytes any answer needs: not read",
                              path=path, code="parse_error")
    return data


def _check_regular(info, path, max_bytes):
    if stat.S_ISLNK(info.st_mode):
        raise SubmissionError("is a link; hand in the file itself", path=path, code="parse_error")
    if stat.S_ISDIR(info.st_mode):
        raise SubmissionError("is a folder, not a file", path=path, code="parse_error")
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError("is not a regular file", path=path, code="parse_error")
    if info.st_size > max_bytes:
        raise SubmissionError(
            f"is {info.st_size:,} bytes, more than the {max_bytes:,} bytes any answer needs: "
            "not read", path=path, code="parse_error")


def parse_values(data, path):
    """The numbers in ``data`` (bytes) in reading order, as a 1-D float64 array.

    ``path`` only locates error messages.
    """
    body = data[len(_BOM):] if data.startswith(_BOM) else data
    if not body.translate(None, _FAST_ALPHABET) and not _has_empty_value(body):
        tokens = body.translate(_FORTRAN_EXPONENT).replace(b",", b" ").split()
        if tokens:
            try:
                values = np.fromiter(map(float, tokens), np.float64, len(tokens))
            except ValueError:
                pass
            else:
                if np.isfinite(values).all():
                    return values
    # Not plainly well formed, no values, or an overflow: read it line by line to say where.
    return _parse_located(_decode(data, path), path)


def _has_empty_value(body):
    """Whether ASCII ``body`` holds a comma with no value before it on its line or since the
    previous comma ("1,,2", ",1")."""
    if b"," not in body:
        return False
    compact = body.translate(None, _HORIZONTAL_BLANKS)
    return (compact.startswith(b",") or b",," in compact or b"\n," in compact
            or b"\r," in compact)


def _decode(data, path):
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise SubmissionError(f"is {what}", path=path, code="parse_error")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _byte_location(data, nul)
        raise SubmissionError(f"binary content (a NUL byte, byte {nul:,} of the file); "
                              "expected text", path=path, line=line, column=column,
                              code="parse_error")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, column = _byte_location(data, e.start)
        raise SubmissionError(f"not UTF-8 text (byte 0x{data[e.start]:02x}); expected plain "
                              "text numbers", path=path, line=line, column=column,
                              code="parse_error") from None


def _byte_location(data, offset):
    """(line, column) of byte ``offset``, counting columns in characters as an editor does."""
    line_start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    line = len(_LINE_BREAK.findall(data[:line_start].decode("latin-1"))) + 1
    prefix = data[line_start:offset]
    if line_start == 0 and prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    return line, len(prefix.decode("utf-8", "replace")) + 1


def _parse_located(text, path):
    """The slow reading: the values, or a SubmissionError at the first bad line and column."""
    if not text.strip(_BLANKS + ","):
        if not text:
            raise SubmissionError("empty file: no values", path=path, code="parse_error")
        raise SubmissionError("no values: the file holds only blank space or commas",
                              path=path, code="parse_error")
    values = []
    lines = _LINE_BREAK.split(text)
    for line_number, line in enumerate(lines, start=1):
        after_value = False
        for field in _FIELD.finditer(line):
            token, column = field.group(), field.start() + 1
            if token == ",":
                if not after_value:
                    raise _empty_value(line, column, line_number, path, first=not values)
                after_value = False
                continue
            if len(token) > MAX_TOKEN_CHARS:
                raise SubmissionError(
                    f"{_show(token)}: a token {len(token):,} characters long, more than any number "
                    f"needs ({MAX_TOKEN_CHARS:,}); write numbers separated by commas or spaces",
                    path=path, line=line_number, column=column, code="parse_error")
            if not _NUMBER.fullmatch(token):
                # A header: a word before any value, on a first line followed only by numbers.
                header = not values and _only_numbers(lines[line_number:])
                raise _bad_token(token, line_number, column, path, header=header)
            value = _to_float(token)
            if math.isinf(value):
                raise SubmissionError(f"{_show(token)} is too large for a float64 (it reads as "
                                      "infinity): NaN and Inf are not answers", path=path,
                                      line=line_number, column=column, code="nonfinite")
            values.append(value)
            after_value = True
    return np.array(values, dtype=np.float64)


def _to_float(token):
    """float() of a token that matches _NUMBER, Fortran's d/D exponent read as e."""
    try:
        return float(token)
    except ValueError:
        return float(token.replace("d", "e").replace("D", "e"))


def _only_numbers(lines):
    """Whether ``lines`` hold at least one value and nothing but numbers and separators."""
    found = False
    for line in lines:
        for field in _FIELD.finditer(line):
            token = field.group()
            if token != ",":
                if not _NUMBER.fullmatch(token):
                    return False
                found = True
    return found


def _show(token):
    return repr(token if len(token) <= 40 else token[:37] + "...")


def _empty_value(line, column, line_number, path, first):
    starts_line = not line[:column - 1].strip(_BLANKS)
    if starts_line and first:
        message = ("the first line starts with a comma: an empty value, as pandas' to_csv writes "
                   "its index and header; pass index=False, header=False")
    elif starts_line:
        message = "the line starts with a comma: an empty value"
    else:
        message = "an empty value between two commas (a missing value; pandas writes NaN this way)"
    return SubmissionError(message, path=path, line=line_number, column=column, code="parse_error")


def _bad_token(token, line_number, column, path, header):
    shown = _show(token)
    where = {"path": path, "line": line_number, "column": column}
    if _NONFINITE.fullmatch(token):
        return SubmissionError(f"{shown} is not a finite number: NaN and Inf are not answers",
                               code="nonfinite", **where)
    odd = next((c for c in token if ord(c) > 127), None)
    if odd is not None:
        name = unicodedata.name(odd, "a non-ASCII character")
        return SubmissionError(
            f"{shown} contains U+{ord(odd):04X} ({name}); write numbers in plain ASCII digits, "
            "separated by commas or spaces", code="parse_error", **where)
    if _NUMPY_REPR.search(token):
        return SubmissionError(
            f"{shown}: NumPy's repr() of a number, as NumPy 2 prints its scalars (np.float64(...)) "
            "in a list or with repr(); write plain numbers, with np.savetxt (or float(v))",
            code="parse_error", **where)
    if "[" in token or "]" in token:
        return SubmissionError(
            f"{shown}: brackets, as print(array) or str(array) writes them; write the array "
            "with np.savetxt", code="parse_error", **where)
    if token == "...":
        return SubmissionError(
            f"{shown}: NumPy abbreviated the array when printing it; write the array with "
            "np.savetxt", code="parse_error", **where)
    if token.startswith("#"):
        return SubmissionError(
            f"{shown}: a comment (np.savetxt writes one when given a header); write numbers only",
            code="parse_error", **where)
    if _HEX_FLOAT.fullmatch(token):
        return SubmissionError(
            f"{shown}: a hexadecimal float, as float.hex() writes it; write decimal numbers, "
            "with np.savetxt (or repr(v))", code="parse_error", **where)
    if header and _looks_like_header(token):
        return SubmissionError(f"{shown} looks like header text; write numbers only, no header",
                               code="parse_error", **where)
    if ";" in token:
        return SubmissionError(
            f"{shown}: ';' does not separate values; use commas or spaces (and a decimal point, "
            "not a decimal comma)", code="parse_error", **where)
    if '"' in token or "'" in token:
        return SubmissionError(f"{shown}: a quoted value; write bare numbers, without quotes",
                               code="parse_error", **where)
    return SubmissionError(f"{shown} is not a number", code="parse_error", **where)


def _looks_like_header(token):
    """Letters other than an exponent's, or two exponent letters: a word, not a number."""
    exponents = sum(token.count(letter) for letter in "dDeE")
    return exponents >= 2 or _HEADER_LETTERS.search(token) is not None


def read_values(path, max_bytes=MIN_BYTES_CAP):
    """All the values in the file at ``path``, 1-D, in reading (row-major) order."""
    return parse_values(read_bytes_capped(path, max_bytes), path)


def read_array(path, shape):
    """The file at ``path`` as an array of ``shape``, or a located SubmissionError
    (a CountMismatch when it holds the wrong number of values)."""
    return parse_array(read_file_for(path, shape), path, shape)


def read_file_for(path, shape):
    """The bytes of the file at ``path``, capped for an array of ``shape``."""
    return read_bytes_capped(path, byte_cap(int(np.prod(shape))))


def parse_array(data, path, shape):
    """``data``, the bytes of the file at ``path``, as an array of ``shape`` (see read_array)."""
    shape = tuple(int(n) for n in shape)
    count = int(np.prod(shape))
    values = parse_values(data, path)
    if values.size == 2 * count:
        _refuse_decimal_commas(data, count, path)
    if values.size != count:
        hint = _count_hint(data, count)
        message = f"holds {values.size} values; expected {count} (shape {shape})"
        if hint:
            message += f": {hint}"
        raise CountMismatch(message, path=path, expected=count, found=values.size,
                            values=values, hint=hint)
    return values.reshape(shape)


def _refuse_decimal_commas(data, count, path):
    """Raise a located SubmissionError if every value in ``data`` (already parsed, twice
    ``count`` values) is written with a decimal comma: each blank-separated field is digits, one
    comma, digits (``-0,0533504635``)."""
    text = data.decode("utf-8-sig")  # already decoded once without error
    first = None
    for line_number, line in enumerate(_LINE_BREAK.split(text), start=1):
        for field in re.finditer(r"[^ \t\f\v]+", line):
            if not _DECIMAL_COMMA.fullmatch(field.group()):
                return
            if first is None:
                first = (field.group(), line_number, field.start() + 1)
    if first is None:
        return
    token, line_number, column = first
    raise SubmissionError(
        f"every value is written with a decimal comma, as {_show(token)} here, and a comma "
        f"separates values: the file reads as {2 * count} values where {count} are expected; "
        f"write a decimal point ({_show(token.replace(',', '.'))}), as np.savetxt does",
        path=path, line=line_number, column=column, code="parse_error")


def _count_hint(data, count):
    """A known mistake that explains a wrong count, read from the file's lines, or None."""
    text = data.decode("utf-8-sig")  # already decoded once without error
    rows = [np.array([_to_float(t) for t in line.replace(",", " ").split()], dtype=np.float64)
            for line in _LINE_BREAK.split(text) if line.strip(_BLANKS + ",")]
    found = sum(r.size for r in rows)
    if len(rows) > 1 and all(r.size > 1 for r in rows) and found - len(rows) == count \
            and all(r[0] == i for i, r in enumerate(rows)):
        return ("the first value on each line counts 0, 1, 2, ...: an index column "
                "(pandas' to_csv writes one unless index=False)")
    first = rows[0]
    if first.size > 1 and found - first.size == count \
            and np.array_equal(first, np.arange(first.size)):
        return ("the first line reads 0, 1, 2, ...: a header row "
                "(pandas' to_csv writes one unless header=False)")
    if found == 2 * count:
        return "twice the expected count: two outputs in one file, or an output written twice?"
    return None
