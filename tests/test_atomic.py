"""grader.atomic: whole files replaced at once, with the mode shared files get, and nothing left
behind when a write fails."""
import os
import stat

import pytest

from grader import atomic
from grader.atomic import write_bytes_atomic, write_text_atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_replace_the_file_with_the_shared_mode(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("old")
    write_text_atomic(page, "new \u2713")
    assert page.read_text("utf-8") == "new \u2713"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(page.stat().st_mode) == 0o666 & ~umask
    write_bytes_atomic(str(tmp_path / "a" / "b" / "deep.bin"), b"\x00" * 100_000)  # folders made
    assert (tmp_path / "a" / "b" / "deep.bin").read_bytes() == b"\x00" * 100_000
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "a" / "b") == []


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_bytes_atomic(page, "text, not bytes")
    assert page.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_temporary_name_already_taken_falls_back_to_a_random_one(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_TEMPORARY_NUMBERS", iter([7]))
    taken = tmp_path / f".page.html.{os.getpid()}-7.tmp"
    taken.write_bytes(b"someone else's")
    write_bytes_atomic(tmp_path / "page.html", b"ours")
    assert (tmp_path / "page.html").read_bytes() == b"ours"
    assert taken.read_bytes() == b"someone else's" and leftovers(tmp_path) == [taken.name]
