"""grader/intake/reading.py: every accepted layout, every refusal with its exact message and location."""
import os
import random

import numpy as np
import pytest

from grader.errors import SubmissionError
from grader.intake.reading import (
    MIN_BYTES_CAP, CountMismatch, _parse_located, byte_cap, parse_values, read_array,
    read_bytes_capped, read_values,
)

# Reading 600 values should take well under a millisecond; the bound leaves room for slow CI.


def write(tmp_path, data, name="out.csv"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def refusal(excinfo):
    e = excinfo.value
    return e.message, e.line, e.column, e.code


# ---------------------------------------------------------------------------------------------
# Accepted variants

ACCEPTED = {
    "one per line": (b"1\n2\n3\n", [1, 2, 3]),
    "no final newline": (b"1\n2\n3", [1, 2, 3]),
    "commas": (b"1,2,3\n", [1, 2, 3]),
    "commas and blanks": (b"1, 2 ,3 , 4\n", [1, 2, 3, 4]),
    "spaces": (b"1 2   3\n", [1, 2, 3]),
    "tabs": (b"1\t2\t3\n", [1, 2, 3]),
    "mixed separators": (b"1 2\t3\n4,5 , 6\n", [1, 2, 3, 4, 5, 6]),
    "several per line, row-major": (b"1 2 3\n4 5 6\n", [1, 2, 3, 4, 5, 6]),
    "ragged lines": (b"1 2\n3\n4 5 6\n", [1, 2, 3, 4, 5, 6]),
    "CRLF": (b"1\r\n2\r\n3\r\n", [1, 2, 3]),
    "CRLF with commas": (b"1,2\r\n3,4\r\n", [1, 2, 3, 4]),
    "lone CR": (b"1\r2\r3\r", [1, 2, 3]),
    "UTF-8 BOM": (b"\xef\xbb\xbf1,2\n3\n", [1, 2, 3]),
    "trailing comma": (b"1,2,\n3,4,\n", [1, 2, 3, 4]),
    "trailing comma and blanks": (b"1, 2, \n3, 4 ,  \n", [1, 2, 3, 4]),
    "comma then line break inside a row": (b"1,\n2\n", [1, 2]),
    "blank lines": (b"\n\n1\n\n  \n2\n\n", [1, 2]),
    "leading blanks": (b"   1\n\t2\n", [1, 2]),
    "plain notation": (b"0.5\n-1.25\n3\n", [0.5, -1.25, 3]),
    "scientific": (b"1e-3, -2.5E+07, 3e0, 4E2", [1e-3, -2.5e7, 3.0, 400.0]),
    "leading plus": (b"+1.5\n+2\n+3e+1\n", [1.5, 2, 30]),
    "leading point": (b".5\n-.5\n+.5e-3\n", [0.5, -0.5, 0.5e-3]),
    "trailing point": (b"5.\n-5.\n1.e5\n", [5.0, -5.0, 1e5]),
    "leading zeros": (b"007\n-0.0\n", [7.0, -0.0]),
    "integers": (b"0\n-2\n10\n", [0, -2, 10]),
    "subnormal and underflow": (b"4.9e-324\n1e-400\n", [5e-324, 0.0]),
    "form feed and vertical tab as blanks": (b"1\x0c2\x0b3\n", [1, 2, 3]),
    # Fortran writes double precision with a D exponent: unambiguous numbers
    "Fortran D exponent": (b"-5.335046350955963D-02\n1.0D+00\n", [-5.335046350955963e-02, 1.0]),
    "Fortran d exponent, several per line": (b"1d5, -2.5d-3 3D0\n", [1e5, -2.5e-3, 3.0]),
    "Fortran exponent on a later line": (b"1\n1d5\n", [1, 1e5]),
}


@pytest.mark.parametrize("data, expected", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_layouts(tmp_path, data, expected):
    values = read_values(write(tmp_path, data))
    assert values.dtype == np.float64 and values.ndim == 1
    np.testing.assert_array_equal(values, expected)


def test_negative_zero_keeps_its_sign():
    assert np.signbit(parse_values(b"-0.0\n", "f")[0])


def test_rows_are_read_row_major(tmp_path):
    array = read_array(write(tmp_path, b"1 2 3\n4 5 6\n"), (2, 3))
    np.testing.assert_array_equal(array, [[1, 2, 3], [4, 5, 6]])
    flat_into_4d = read_array(write(tmp_path, b"1 2 3 4\n5 6 7 8\n"), (1, 2, 2, 2))
    np.testing.assert_array_equal(flat_into_4d.ravel(), np.arange(1, 9))


@pytest.mark.parametrize("fmt", ["%.18e", "%.9e", "%.17g", "%r"])
@pytest.mark.parametrize("delimiter", [" ", ","])
def test_savetxt_2d_text(tmp_path, fmt, delimiter):
    rng = np.random.default_rng(1)
    array = rng.normal(10, 1, (20, 20)) * rng.choice([0.0, 1 / 0.7], (20, 20))
    path = tmp_path / "out.csv"
    if fmt == "%r":
        path.write_text("\n".join(delimiter.join(repr(float(v)) for v in row) for row in array))
    else:
        np.savetxt(path, array, fmt=fmt, delimiter=delimiter)
    got = read_array(path, (20, 20))
    if fmt == "%.9e":
        np.testing.assert_allclose(got, array, rtol=1e-9)
    else:  # %.18e, %.17g and repr round-trip float64 exactly
        assert got.tobytes() == array.tobytes()


def test_savetxt_one_per_line_round_trips_exactly(tmp_path):
    array = np.random.default_rng(2).normal(size=(3, 2, 10, 10))
    path = tmp_path / "out.csv"
    np.savetxt(path, array.ravel())
    assert read_array(path, array.shape).tobytes() == array.tobytes()


# ---------------------------------------------------------------------------------------------
# Refusals: exact message, line, column and code

NOT_A_NUMBER = "is not a number"
HEADER = "looks like header text; write numbers only, no header"
HEX_FLOAT = ("a hexadecimal float, as float.hex() writes it; write decimal numbers, with "
             "np.savetxt (or repr(v))")
NUMPY_REPR = ("NumPy's repr() of a number, as NumPy 2 prints its scalars (np.float64(...)) in a "
              "list or with repr(); write plain numbers, with np.savetxt (or float(v))")
NOT_FINITE = "is not a finite number: NaN and Inf are not answers"
ASCII_ONLY = "write numbers in plain ASCII digits, separated by commas or spaces"

REFUSED = {
    "empty file": (b"", "empty file: no values", None, None, "parse_error"),
    "BOM only": (b"\xef\xbb\xbf", "empty file: no values", None, None, "parse_error"),
    "whitespace only": (b"  \n\t\r\n\n", "no values: the file holds only blank space or commas",
                        None, None, "parse_error"),
    "commas only": (b",,\n,\n", "no values: the file holds only blank space or commas",
                    None, None, "parse_error"),
    "header": (b"x,y\n1,2\n", f"'x' {HEADER}", 1, 1, "parse_error"),
    "header after blank lines": (b"\n\n  out\n1\n",
                                 "'out' looks like header text; write numbers only, no header",
                                 3, 3, "parse_error"),
    "header of several words": (b"x y z\n1 2 3\n", f"'x' {HEADER}", 1, 1, "parse_error"),
    # a header only when later lines are numbers: else the word is named for what it is
    "word on the only line": (b"abc\n", f"'abc' {NOT_A_NUMBER}", 1, 1, "parse_error"),
    "words on every line": (b"abc\ndef\n", f"'abc' {NOT_A_NUMBER}", 1, 1, "parse_error"),
    "word first, a word later": (b"abc\n1\n2 x\n", f"'abc' {NOT_A_NUMBER}", 1, 1,
                                 "parse_error"),
    "word first, NaN later": (b"abc\n1\nnan\n", f"'abc' {NOT_A_NUMBER}", 1, 1, "parse_error"),
    "word after a value on the first line": (b"1 abc\n2 3\n", f"'abc' {NOT_A_NUMBER}", 1, 3,
                                             "parse_error"),
    "NumPy 2 repr": (b"np.float64(-0.05335046350955963)\nnp.float64(0.5)\n",
                     f"'np.float64(-0.05335046350955963)': {NUMPY_REPR}", 1, 1, "parse_error"),
    "NumPy 2 repr, a header-like first line": (b"np.float32(0.5)\n1\n2\n",
                                                f"'np.float32(0.5)': {NUMPY_REPR}", 1, 1,
                                                "parse_error"),
    "NumPy 2 repr of a list": (b"[np.float64(0.1), np.float64(0.2)]\n",
                               f"'[np.float64(0.1)': {NUMPY_REPR}", 1, 1, "parse_error"),
    "numpy. repr later": (b"1\nnumpy.float64(2.0)\n", f"'numpy.float64(2.0)': {NUMPY_REPR}",
                          2, 1, "parse_error"),
    "word in the middle": (b"1\n2\nabc\n", f"'abc' {NOT_A_NUMBER}", 3, 1, "parse_error"),
    "word later on a line": (b"1, 2, abc\n", f"'abc' {NOT_A_NUMBER}", 1, 7, "parse_error"),
    "column after a BOM": (b"\xef\xbb\xbf1, 2, 3x\n", f"'3x' {NOT_A_NUMBER}", 1, 7, "parse_error"),
    "column on a CRLF line": (b"1\r\n2 3 4e\r\n", f"'4e' {NOT_A_NUMBER}", 2, 5, "parse_error"),
    "two points": (b"1\n1.2.3\n", f"'1.2.3' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "bare sign": (b"1\n-\n", f"'-' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "bare point": (b"1 . 2\n", f"'.' {NOT_A_NUMBER}", 1, 3, "parse_error"),
    "double sign": (b"1\n--1\n", f"'--1' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "minus between numbers": (b"1\n1-2\n", f"'1-2' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "exponent without digits": (b"1\n1e+\n", f"'1e+' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "Fortran exponent without digits": (b"1\n1d\n", f"'1d' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "two exponents": (b"1\n1d5e3\n", f"'1d5e3' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "long token shortened": (b"1\n" + b"9" * 50 + b"x\n", f"'{'9' * 37}...' {NOT_A_NUMBER}",
                             2, 1, "parse_error"),
    # float() accepts these; a CSV reader must not
    "underscore digits": (b"1\n1_000\n", f"'1_000' {NOT_A_NUMBER}", 2, 1, "parse_error"),
    "hex float": (b"1\n0x1p3\n", f"'0x1p3': {HEX_FLOAT}", 2, 1, "parse_error"),
    "float.hex() first": (b"-0x1.b5120e2e9ae2bp-5\n0x1.0p+0\n",
                          f"'-0x1.b5120e2e9ae2bp-5': {HEX_FLOAT}", 1, 1, "parse_error"),
    "full-width digit": ("1\n\uff11.5\n".encode(),
                         f"'\uff11.5' contains U+FF11 (FULLWIDTH DIGIT ONE); {ASCII_ONLY}",
                         2, 1, "parse_error"),
    "full-width letter l": ("1\n\uff4c\n".encode(),
                            f"'\uff4c' contains U+FF4C (FULLWIDTH LATIN SMALL LETTER L); "
                            f"{ASCII_ONLY}", 2, 1, "parse_error"),
    "Arabic-Indic digits": ("1\n\u0663\u0664\n".encode(),
                            f"'\u0663\u0664' contains U+0663 (ARABIC-INDIC DIGIT THREE); "
                            f"{ASCII_ONLY}", 2, 1, "parse_error"),
    "no-break space": ("1.0\u00a02.0\n".encode(),
                       f"'1.0\\xa02.0' contains U+00A0 (NO-BREAK SPACE); {ASCII_ONLY}",
                       1, 1, "parse_error"),
    "BOM in the middle": (b"1\n\xef\xbb\xbf2\n",
                          f"'\\ufeff2' contains U+FEFF (ZERO WIDTH NO-BREAK SPACE); {ASCII_ONLY}",
                          2, 1, "parse_error"),
    # not finite
    "nan": (b"1\nnan\n", f"'nan' {NOT_FINITE}", 2, 1, "nonfinite"),
    "NaN": (b"1, NaN\n", f"'NaN' {NOT_FINITE}", 1, 4, "nonfinite"),
    "blank then nan": (b"1\n nan\n", f"'nan' {NOT_FINITE}", 2, 2, "nonfinite"),
    "NaN first": (b"NaN\n1\n", f"'NaN' {NOT_FINITE}", 1, 1, "nonfinite"),
    "-nan": (b"1\n-nan\n", f"'-nan' {NOT_FINITE}", 2, 1, "nonfinite"),
    "inf": (b"1\ninf\n", f"'inf' {NOT_FINITE}", 2, 1, "nonfinite"),
    "Inf": (b"1\nInf\n", f"'Inf' {NOT_FINITE}", 2, 1, "nonfinite"),
    "-inf": (b"1\n-inf\n", f"'-inf' {NOT_FINITE}", 2, 1, "nonfinite"),
    "+inf": (b"1\n+inf\n", f"'+inf' {NOT_FINITE}", 2, 1, "nonfinite"),
    "Infinity": (b"1\nInfinity\n", f"'Infinity' {NOT_FINITE}", 2, 1, "nonfinite"),
    "-Infinity": (b"1\n-Infinity\n", f"'-Infinity' {NOT_FINITE}", 2, 1, "nonfinite"),
    "MSVC -nan(ind)": (b"1\n-nan(ind)\n", f"'-nan(ind)' {NOT_FINITE}", 2, 1, "nonfinite"),
    "MSVC 1.#INF": (b"1\n1.#INF\n", f"'1.#INF' {NOT_FINITE}", 2, 1, "nonfinite"),
    "overflow": (b"1\n1e999\n", "'1e999' is too large for a float64 (it reads as infinity): "
                 "NaN and Inf are not answers", 2, 1, "nonfinite"),
    "negative overflow": (b"1 -2e308\n", "'-2e308' is too large for a float64 (it reads as "
                          "infinity): NaN and Inf are not answers", 1, 3, "nonfinite"),
    # empty values
    "two commas": (b"1,,2\n", "an empty value between two commas (a missing value; pandas "
                   "writes NaN this way)", 1, 3, "parse_error"),
    "two commas with blanks": (b"1, 2\n3 , ,4\n", "an empty value between two commas (a missing "
                               "value; pandas writes NaN this way)", 2, 5, "parse_error"),
    "line starts with a comma": (b"1\n,2\n", "the line starts with a comma: an empty value",
                                 2, 1, "parse_error"),
    "comma after a line break": (b"1,\n ,2\n", "the line starts with a comma: an empty value",
                                 2, 2, "parse_error"),
    "pandas index and header": (b",0\n0,1.5\n1,2.5\n",
                                "the first line starts with a comma: an empty value, as pandas' "
                                "to_csv writes its index and header; pass index=False, "
                                "header=False", 1, 1, "parse_error"),
    # other common mistakes
    "print(array)": (b"[[0.1 0.2]\n [0.3 0.4]]\n", "'[[0.1': brackets, as print(array) or "
                     "str(array) writes them; write the array with np.savetxt", 1, 1,
                     "parse_error"),
    "abbreviated array": (b"0.1 0.2 ... 0.9\n", "'...': NumPy abbreviated the array when "
                          "printing it; write the array with np.savetxt", 1, 9, "parse_error"),
    "semicolons and decimal commas": (b"0,5;1,2\n", "'5;1': ';' does not separate values; use "
                                      "commas or spaces (and a decimal point, not a decimal "
                                      "comma)", 1, 3, "parse_error"),
    "quoted values": (b'"1.5","2.5"\n', "'\"1.5\"': a quoted value; write bare numbers, "
                      "without quotes", 1, 1, "parse_error"),
    "savetxt header comment": (b"# out\n1\n", "'#': a comment (np.savetxt writes one when "
                               "given a header); write numbers only", 1, 1, "parse_error"),
    # binary and encodings
    "NUL byte": (b"1\n2\x003\n", "binary content (a NUL byte, byte 3 of the file); expected text",
                 2, 2, "parse_error"),
    "latin-1": (b"1.0\n2.0\xe9\n", "not UTF-8 text (byte 0xe9); expected plain text numbers",
                2, 4, "parse_error"),
    "latin-1 after UTF-8 on the line": ("1\n\u00e9".encode() + b"\xb0\n",
                                        "not UTF-8 text (byte 0xb0); expected plain text numbers",
                                        2, 2, "parse_error"),
    "UTF-16": ("1\n2\n".encode("utf-16"), "is UTF-16 text (as Windows PowerShell's > writes "
               "it); save it as UTF-8 or ASCII", None, None, "parse_error"),
    "zip or xlsx": (b"PK\x03\x04\x14\x00rest", "is a zip archive or Excel workbook, not text; "
                    "save it as plain-text CSV", None, None, "parse_error"),
}


@pytest.mark.parametrize("data, message, line, column, code", REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_located_message(tmp_path, data, message, line, column, code):
    path = write(tmp_path, data)
    with pytest.raises(SubmissionError) as excinfo:
        read_values(path)
    assert refusal(excinfo) == (message, line, column, code)
    assert excinfo.value.path == path


def test_message_names_file_line_and_column(tmp_path):
    path = write(tmp_path, b"1\n2\nabc\n")
    with pytest.raises(SubmissionError) as excinfo:
        read_values(path)
    assert str(excinfo.value) == f"{path}, line 3, column 1: 'abc' is not a number"


def test_npy_file(tmp_path):
    path = tmp_path / "out.csv"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(SubmissionError) as excinfo:
        read_values(path)
    assert refusal(excinfo) == (
        "is a NumPy .npy file (np.save), not text; write it with np.savetxt", None, None,
        "parse_error")


def test_random_binary_is_refused_cleanly():
    rng = random.Random(3)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        try:
            parse_values(data, "f")
        except SubmissionError:
            pass


# ---------------------------------------------------------------------------------------------
# Wrong number of values

def test_count_mismatch(tmp_path):
    path = write(tmp_path, b"1\n2\n3\n4\n5\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (2, 3))
    e = excinfo.value
    assert (e.message, e.code, e.expected, e.found, e.hint) == (
        "holds 5 values; expected 6 (shape (2, 3))", "wrong_count", 6, 5, None)
    np.testing.assert_array_equal(e.values, [1, 2, 3, 4, 5])
    assert e.path == path and isinstance(e, SubmissionError)


def test_count_mismatch_index_column(tmp_path):
    path = write(tmp_path, b"0,1.5,2.5\n1,3.5,4.5\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (2, 2))
    assert excinfo.value.message == (
        "holds 6 values; expected 4 (shape (2, 2)): the first value on each line counts "
        "0, 1, 2, ...: an index column (pandas' to_csv writes one unless index=False)")
    assert excinfo.value.found == 6


def test_count_mismatch_header_row(tmp_path):
    path = write(tmp_path, b"0,1\n1.5,2.5\n3.5,4.5\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (2, 2))
    assert excinfo.value.hint == ("the first line reads 0, 1, 2, ...: a header row "
                                  "(pandas' to_csv writes one unless header=False)")


DECIMAL_COMMAS = ("every value is written with a decimal comma, as {token} here, and a comma "
                  "separates values: the file reads as {found} values where {count} are "
                  "expected; write a decimal point ({fixed}), as np.savetxt does")


def test_decimal_commas_one_per_line(tmp_path):
    values = [-0.0533504635, 1.25, 13.0, -2.5e-3]
    text = "".join(f"{v:.10f}".replace(".", ",") + "\n" for v in values)
    path = write(tmp_path, text)
    with pytest.raises(SubmissionError) as excinfo:
        read_array(path, (2, 2))
    assert not isinstance(excinfo.value, CountMismatch)
    assert refusal(excinfo) == (DECIMAL_COMMAS.format(token="'-0,0533504635'", found=8, count=4,
                                                      fixed="'-0.0533504635'"),
                                1, 1, "parse_error")


def test_decimal_commas_several_per_line_and_exponents(tmp_path):
    path = write(tmp_path, b"\n  1,5e-03 -2,25\r\n3,0 4,125D+01\n")
    with pytest.raises(SubmissionError) as excinfo:
        read_array(path, (4,))
    assert refusal(excinfo) == (DECIMAL_COMMAS.format(token="'1,5e-03'", found=8, count=4,
                                                      fixed="'1.5e-03'"),
                                2, 3, "parse_error")


def test_decimal_commas_need_every_value_and_twice_the_count(tmp_path):
    # One value with a decimal point: not every value has a decimal comma.
    path = write(tmp_path, b"0,5\n1,5\n2.5 3\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (3,))
    assert excinfo.value.hint.startswith("twice the expected count")
    # Comma-separated pairs that are the right count: values, not decimal commas.
    np.testing.assert_array_equal(read_array(write(tmp_path, b"0,5\n1,5\n"), (4,)),
                                  [0, 5, 1, 5])
    # Decimal commas, but not twice the count: the count is what is wrong.
    with pytest.raises(CountMismatch):
        read_array(write(tmp_path, b"0,5\n1,5\n"), (3,))


def test_count_hints_read_fortran_exponents(tmp_path):
    path = write(tmp_path, b"0,1.5D0,2.5D0\n1,3.5D0,4.5D0\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (2, 2))
    assert excinfo.value.hint.startswith("the first value on each line counts 0, 1, 2")


def test_count_mismatch_twice(tmp_path):
    path = write(tmp_path, b"1\n2\n3\n4\n")
    with pytest.raises(CountMismatch) as excinfo:
        read_array(path, (2,))
    assert excinfo.value.hint == ("twice the expected count: two outputs in one file, or an "
                                  "output written twice?")


# ---------------------------------------------------------------------------------------------
# What is not a regular file, or too large

def test_file_over_the_cap_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "out.csv"
    with open(path, "wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GB of NULs that take no disk
    with pytest.raises(SubmissionError) as excinfo:
        read_array(path, (600,))
    assert refusal(excinfo) == ("is 1,073,741,824 bytes, more than the 65,536 bytes any answer "
                                "needs: not read", None, None, "parse_error")


def test_cap_grows_with_the_expected_count(tmp_path):
    assert byte_cap(1) == MIN_BYTES_CAP
    assert byte_cap(10_000) == 640_000
    big = np.arange(10_000.0)
    path = tmp_path / "out.csv"
    np.savetxt(path, big)  # 25 bytes a value: over the minimum cap, under this count's cap
    assert path.stat().st_size > MIN_BYTES_CAP
    np.testing.assert_array_equal(read_array(path, (10_000,)), big)


def test_file_just_over_the_cap(tmp_path):
    path = write(tmp_path, b"1\n" * 10)
    assert read_bytes_capped(path, 20) == b"1\n" * 10
    with pytest.raises(SubmissionError, match="is 20 bytes, more than the 19 bytes"):
        read_bytes_capped(path, 19)


def test_symlink_is_refused_even_inside(tmp_path):
    target = write(tmp_path, b"1\n2\n", name="real.csv")
    link = tmp_path / "out.csv"
    link.symlink_to(target.name)
    with pytest.raises(SubmissionError) as excinfo:
        read_values(link)
    assert refusal(excinfo) == ("is a link; hand in the file itself", None, None, "parse_error")


def test_symlink_leaving_the_submission_and_dangling(tmp_path):
    for target in ("/etc/passwd", str(tmp_path / "nowhere.csv")):
        link = tmp_path / "out.csv"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        with pytest.raises(SubmissionError, match="is a link; hand in the file itself"):
            read_values(link)


def test_directory(tmp_path):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(SubmissionError) as excinfo:
        read_values(tmp_path / "out.csv")
    assert refusal(excinfo) == ("is a folder, not a file", None, None, "parse_error")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "out.csv"
    os.mkfifo(path)
    with pytest.raises(SubmissionError) as excinfo:
        read_values(path)  # opening a FIFO for reading would block until a writer came
    assert refusal(excinfo) == ("is not a regular file", None, None, "parse_error")


def test_missing_file(tmp_path):
    with pytest.raises(SubmissionError) as excinfo:
        read_values(tmp_path / "out.csv")
    assert refusal(excinfo) == ("file not found", None, None, "missing_file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, b"1\n")
    path.chmod(0)
    try:
        with pytest.raises(SubmissionError) as excinfo:
            read_values(path)
        assert refusal(excinfo) == ("cannot read: Permission denied", None, None, "parse_error")
    finally:
        path.chmod(0o600)


# ---------------------------------------------------------------------------------------------
# The fast path agrees with the located reading; speed

def _outcome(read):
    try:
        return ("values", read().tobytes())
    except SubmissionError as e:
        return ("error", e.message, e.line, e.column, e.code)


def _random_text(rng):
    numbers = ["1", "-2.5", "+.5", "5.", "1e-3", "2E+07", "0", "007", "1e999", "-1e400", "1d-3",
               "-2.5D+07", "1D999"]
    separators = [",", ", ", " ,", " ", "  ", "\t", "\n", "\r\n", "\r", ",\n", "\n\n", "\x0c"]
    noise = [".", "e", "d", "D", "-", "+", ",", "x", "nan", "_", "\u00a0", "\uff11", ";", "[", "#",
             "\ufeff"]
    pieces = []
    for _ in range(rng.randrange(0, 8)):
        pieces += [rng.choice(numbers), rng.choice(separators)]
        if rng.random() < 0.15:
            pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(noise))
    return "".join(pieces).encode()


def test_fast_path_agrees_with_the_located_reading():
    """The fast path decides most files; the line-by-line reading is the specification."""
    rng = random.Random(4)
    accepted = 0
    for _ in range(5000):
        data = _random_text(rng)
        fast = _outcome(lambda: parse_values(data, "f"))
        slow = _outcome(lambda: _parse_located(data.decode("utf-8-sig"), "f"))
        assert fast == slow, data
        accepted += fast[0] == "values"
    assert 1000 < accepted < 4000  # both outcomes well exercised
