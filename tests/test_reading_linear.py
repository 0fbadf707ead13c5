"""Reading is linear in the file's size: an over-long token is refused by its length before any
pattern sees it, and the patterns that name a bad token cannot backtrack (a token ``0x`` with
65,000 hex digits and one bad character took 110 s to refuse). Timings are in
benchmarks/bench_reading.py; these tests pin what the reader says."""
import pytest

from grader.intake import reading
from grader.errors import SubmissionError
from grader.intake.reading import MAX_TOKEN_CHARS, parse_values


def refusal(data):
    with pytest.raises(SubmissionError) as e:
        parse_values(data, "out.csv")
    return e.value


@pytest.mark.parametrize("token", [b"0x" + b"a" * 65_000 + b"!", b"1" * 20_000 + b"x",
                                   b"np." + b"a" * 5_000 + b"(", b"e" * 3_000])
def test_an_over_long_token_is_refused_by_its_length(token):
    error = refusal(b"1.5\n" + token + b"\n2.5\n")
    assert (error.line, error.column, error.code) == (2, 1, "parse_error")
    assert f"a token {len(token):,} characters long, more than any number needs" in error.message
    assert len(error.message) < 200  # the token is shown shortened, never whole


def test_the_longest_exact_float_is_not_over_long():
    exact = format(5e-324, f".{1074}f")  # the smallest subnormal, written exactly
    assert len(exact) < MAX_TOKEN_CHARS
    assert refusal(exact.encode() + b"\nx\n").line == 2  # read as a number; line 2 is refused


def test_hex_floats_up_to_the_cap_are_still_named():
    token = "0x1." + "8" * (MAX_TOKEN_CHARS - 10) + "p+1"
    assert "a hexadecimal float, as float.hex() writes it" in refusal(token.encode()).message
    assert "is not a number" in refusal(b"0x" + b"a" * (MAX_TOKEN_CHARS - 3) + b"!").message


@pytest.mark.parametrize("token, is_hex", [("0x1.8p+1", True), ("-0x.8p-2", True), ("0x1", True),
                                           ("0x1.", True), ("0x", False), ("0x1.8p", False),
                                           ("0x1..8", False), ("0xg", False)])
def test_the_hex_float_pattern_matches_what_float_fromhex_reads(token, is_hex):
    assert bool(reading._HEX_FLOAT.fullmatch(token)) == is_hex
    if is_hex:
        float.fromhex(token)


@pytest.mark.parametrize("token, header", [("value", True), ("Ee", True), ("d1e5", True),
                                           ("4e", False), ("1e+", False), ("-", False)])
def test_header_words_are_told_from_malformed_numbers(token, header):
    message = refusal(f"{token}\n1\n2\n".encode()).message
    assert ("looks like header text" in message) == header
