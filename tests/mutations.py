"""Hostile submissions made by seeded mutation of a correct one, and what every graded result must
satisfy whatever was handed in. Shared by the fuzz test (tests/test_fuzz.py) and the longer
campaign (scripts/fuzz_campaign.py).

A mutated submission starts from a correct student's ten files and damages some of them as
students and attackers do: flipped bytes, truncation, odd tokens (NaN, 1e999, hex floats,
NumPy reprs, control characters, Arabic digits), long tokens, other encodings and line ends,
wrong counts, random bytes; then perhaps the submission itself: misnamed, missing or duplicated
files, extra folders, links out of the submission, FIFOs, and zips, some of them corrupted.
"""
import codecs
import io
import json
import math
import os
import random
import unicodedata
import zipfile
from pathlib import Path

from grader.results import STATUSES, to_json

ODD_TOKENS = [b"nan", b"-inf", b"Infinity", b"1e999", b"-1e999", b"0x1.8p+1", b"1,,2", b",",
              b"\xef\xbb\xbf", b"\x00", b"\r", b"\x1b[2J", "\u0661\u0662\u0663".encode(),
              b"1_000", b"np.float64(1.0)", b"[1.", b"...", b"# header", b'"1.5"', b"1;2",
              b"1e", b"--1", b"\t", b"\xff\xfe", b"1.7976931348623157e308", b"-5e-324",
              b"1d5", b"0,5", b"\xe2\x80\xae", b"value", b"x y z", b"1e-400", b"+.5", b"5.",
              b"\xc3\x28", b"\xf0\x9f\x98\x80", b"\x7f", b"1.0\r\n2.0", b"\\n", b"null",
              "\u00a0".encode(), "\u200b".encode(), b"\x0c", b"\x0b"]


def mutate_bytes(rng, data):
    """``data`` damaged in one of the ways students and attackers damage files."""
    how = rng.randrange(12)
    if how == 0 and data:  # flip bytes
        data = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if how == 1:  # truncate
        return data[:rng.randrange(len(data) + 1)]
    if how == 2:  # an odd token somewhere
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.choice(ODD_TOKENS) + data[at:]
    if how == 3:  # a long token
        body = rng.choice([b"0x" + b"a" * rng.randint(1000, 60000) + b"!",
                           b"1" * rng.randint(1000, 60000), b"9" * 400,
                           b"0." + b"0" * 330 + b"1", b"e" * rng.randint(2, 5000)])
        at = rng.randrange(len(data) + 1)
        return data[:at] + body + data[at:]
    if how == 4:  # another encoding or line end
        text = data.decode("utf-8", "replace")
        return rng.choice([lambda: text.encode("utf-16"), lambda: text.encode("utf-16-le"),
                           lambda: codecs.BOM_UTF8 + data, lambda: data.replace(b"\n", b"\r\n"),
                           lambda: data.replace(b"\n", b"\r"), lambda: text.encode("utf-32"),
                           lambda: data.replace(b".", b",")])()
    if how == 5:  # lines dropped, repeated or shuffled
        lines = data.splitlines(keepends=True)
        choice = rng.randrange(3)
        if choice == 0 and lines:
            del lines[rng.randrange(len(lines))]
        elif choice == 1 and lines:
            lines.insert(rng.randrange(len(lines)), rng.choice(lines))
        else:
            rng.shuffle(lines)
        return b"".join(lines)
    if how == 6:  # separators changed
        return data.replace(b"\n", rng.choice([b",", b" ", b";", b"\t", b",,", b" , "]))
    if how == 7:  # empty, blank
        return rng.choice([b"", b"\n", b"   \n\t\n", b",,,\n"])
    if how == 8:  # values scaled to the edges of float64
        factor = rng.choice([1e300, -1e300, 1e-300, 0.0, -1.0, 1e308])
        out = []
        for token in data.split():
            try:
                out.append(repr(float(token) * factor).encode())
            except ValueError:
                out.append(token)
        return b"\n".join(out) + b"\n"
    if how == 9:  # random bytes
        return rng.randbytes(rng.randint(0, 4000))
    if how == 10:  # a header or an index column, as pandas writes them
        lines = data.splitlines()
        return b"0\n" + b"\n".join(b"%d,%s" % (i, line) for i, line in enumerate(lines)) + b"\n"
    return data * rng.randint(2, 3)  # an output written twice


def write_mutated(rng, folder, files, mutate_files=0.5):
    """Write a mutated copy of ``files`` (name -> bytes) as a submission at ``folder`` (a folder,
    or ``folder`` + '.zip'); returns (its path, the number of files damaged)."""
    mutated, damaged = {}, 0
    for name, data in files.items():
        if rng.random() < mutate_files:
            data = mutate_bytes(rng, data)
            damaged += 1
        mutated[name] = data
    layout = {}
    for name, data in mutated.items():
        roll = rng.random()
        if roll < 0.04:
            continue  # missing
        if roll < 0.08:
            name = rng.choice([name.upper(), name.replace(".csv", " (1).csv"),
                               name.replace(".csv", ".txt"), "Copy of " + name, name + " "])
        prefix = rng.choice(["output_files/"] * 6 + ["", "e01/output_files/", "a/b/c/d/"])
        layout[prefix + name] = data
    if rng.random() < 0.1:
        layout["output_files/notes.txt"] = rng.randbytes(100)
    if rng.random() < 0.05:  # many copies of one output
        base = next(iter(mutated.values()), b"1\n")
        for n in range(rng.randint(10, 300)):
            layout[f"output_files/conv_forward_out ({n}).csv"] = base
    as_zip = rng.random() < 0.25
    if as_zip:
        path = Path(f"{folder}.zip")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in layout.items():
                archive.writestr(name, data)
        blob = buffer.getvalue()
        if rng.random() < 0.3:  # a damaged zip
            blob = mutate_bytes(rng, blob) if rng.random() < 0.5 else blob[:rng.randrange(len(blob))]
        path.write_bytes(blob)
        return path, damaged
    folder = Path(folder)
    for name, data in layout.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)
    extra = rng.random()
    if extra < 0.03:  # a link out of the submission, named like an output
        link = folder / "output_files" / "maxpool_forward_out.csv"
        link.parent.mkdir(exist_ok=True)
        link.unlink(missing_ok=True)
        os.symlink("/etc/passwd", link)
    elif extra < 0.05 and hasattr(os, "mkfifo"):
        fifo = folder / "output_files" / "maxpool_backward_out.csv"
        fifo.parent.mkdir(exist_ok=True)
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
    return folder, damaged


def _unprintable(text):
    """The first character of ``text`` that a terminal or a page would not show as itself."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\u202e\u202d\u2066\u2067":
            return char
    return None


def problems(result, assignment):
    """What is wrong with a graded result, whatever the submission held: a list of sentences,
    empty when the result is valid."""
    found = []
    try:
        text = to_json(result.to_dict())
        data = json.loads(text)
    except (TypeError, ValueError) as e:
        return [f"result is not valid JSON: {e}"]
    if not (0.0 <= result.score <= result.max_score + 1e-9):
        found.append(f"score {result.score} outside [0, {result.max_score}]")
    if not math.isclose(result.score, sum(c.score for c in result.checks), abs_tol=1e-9):
        found.append("score is not the sum of the checks' scores")
    if sorted(c.output for c in result.checks) != sorted(o.file for o in assignment.outputs):
        found.append("checks do not cover the spec's outputs exactly once")
    for check in result.checks:
        if check.status not in STATUSES:
            found.append(f"{check.output}: status {check.status!r}")
        if not (0.0 <= check.score <= check.max_score + 1e-9):
            found.append(f"{check.output}: score {check.score} outside [0, {check.max_score}]")
        if check.status == "pass" and check.score != check.max_score:
            found.append(f"{check.output}: passed without its points")
    for where, value in [("error", result.error or "")] + \
            [(f"note {i}", n) for i, n in enumerate(result.notes)] + \
            [(c.output, c.message) for c in result.checks]:
        bad = _unprintable(value)
        if bad is not None:
            found.append(f"{where}: unprintable character U+{ord(bad):04X}")
    if "root:x:0:0" in text:
        found.append("a file outside the submission (/etc/passwd) was read")
    if "internal error" in text or "Traceback" in text:
        found.append("an internal error reached the result")
    if len(text) > 200_000:
        found.append(f"result JSON is {len(text):,} bytes")
    if data.get("graded") is False:
        found.append("the grader failed on it (ungraded)")
    return found
