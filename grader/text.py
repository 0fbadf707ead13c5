"""Text a student controls (file names, ids, tokens), made safe to print and to store.

File names may hold bytes that are not UTF-8 (they arrive as lone surrogates), control
characters that drive a terminal (escape sequences, carriage returns) and invisible or
direction-changing characters that make one name look like another. Every such character is
shown as an escape (``\\x1b``, ``\\u202e``), so what is printed is what is there.
"""
import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def printable(text):
    """``text`` with undecodable bytes replaced by U+FFFD and invisible characters escaped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # bytes that were not UTF-8, carried as surrogates by os.fsdecode
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
