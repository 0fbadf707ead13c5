"""Intake: listing submissions under ROOT and opening folders and zips safely.

Hostile zips are crafted in tmp_path, with zipfile where it writes what we need and with
``raw_zip`` (headers packed by hand) where it would not: lying sizes, encryption flags, names that
are not UTF-8. Every refusal must leave nothing behind: no file outside the temporary folder and
no temporary folder either.
"""
import io
import os
import stat
import struct
import time
import uuid
import zipfile
import zlib

import pytest

from grader import intake
from grader.errors import GraderError, SubmissionError
from grader.intake import (SubmissionSource, ZipLimits, extract_zip, list_submissions,
                           open_submission)

MiB = 1024 * 1024
BOMB_SECONDS = 2.0  # a zip bomb must be refused at least this fast
OPEN_SECONDS = 0.05  # best of 10 openings of a 16-CSV zip; mostly file creation, a few ms

OUTPUTS = ["conv_forward_out", "conv_backward_out_dx", "conv_backward_out_dw",
           "conv_backward_out_db", "maxpool_forward_out", "maxpool_backward_out",
           "dropout_forward_out_train", "dropout_forward_out_test", "dropout_backward_out_train",
           "dropout_backward_out_test"]


def csv_text(n, seed=0):
    return "".join(f"{(i * 7919 + seed) % 1000 / 997:.18e}\n" for i in range(n))


# --- helpers --------------------------------------------------------------------------------

def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    """A zip at ``path`` holding ``entries``: {name: str or bytes}, or ZipInfo -> data pairs."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items() if isinstance(entries, dict) else entries:
            zf.writestr(name, data)
    return path


def raw_zip(path, entries):
    """A zip written header by header, so that each field says what the test wants.

    Each entry is a dict: ``name`` (bytes), ``data`` (the bytes stored, already compressed), and
    optionally ``method`` (0), ``size`` (declared uncompressed size, default len(data)), ``crc``
    (default crc32(data)), ``flags`` (0), ``mode`` (Unix st_mode in the external attributes).
    """
    body, central = bytearray(), bytearray()
    for e in entries:
        name, data = e["name"], e["data"]
        method, flags = e.get("method", 0), e.get("flags", 0)
        size = e.get("size", len(data))
        crc = e.get("crc", zlib.crc32(data))
        offset = len(body)
        body += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, flags, method, 0, 0x21,
                            crc, len(data), size, len(name), 0) + name + data
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", (3 << 8) | 20, 20, flags,
                               method, 0, 0x21, crc, len(data), size, len(name), 0, 0, 0, 0,
                               e.get("mode", 0o100644) << 16, offset) + name
    count = len(entries)
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    path.write_bytes(bytes(body + central + eocd))
    return path


def zeros_deflated(mib):
    """A raw deflate stream of ``mib`` MiB of zeros, made in milliseconds: after a full flush the
    compressor emits the same bytes for every further MiB of zeros, so one block is repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    return block * mib + c.flush()


def tree(root):
    """Every path under ``root``, relative, as strings (links not followed)."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


@pytest.fixture
def scratch(tmp_path):
    """The tmp_root for open_submission; must be empty again after every test."""
    path = tmp_path / "scratch"
    path.mkdir()
    yield path
    assert list(path.iterdir()) == [], "a temporary folder was left behind"


def zip_source(path):
    return SubmissionSource(path.name[:-4], path, "zip")


def refused(path, scratch, match, **kwargs):
    """Open the zip at ``path`` expecting a SubmissionError matching ``match``; check that it
    names the zip and that nothing was written anywhere."""
    before = tree(path.parent.parent)
    with pytest.raises(SubmissionError, match=match) as caught:
        with open_submission(zip_source(path), tmp_root=scratch, **kwargs):
            pytest.fail("the zip was opened")
    assert str(path) in str(caught.value)
    assert tree(path.parent.parent) == before
    return caught.value


@pytest.fixture
def subs(tmp_path):
    path = tmp_path / "subs"
    path.mkdir()
    return path


# --- listing ----------------------------------------------------------------------------------

def test_listing_folders_zips_hidden_loose_files_and_links(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for folder in ["e02", "e01", ".git", "__MACOSX", "Alice"]:
        (root / folder).mkdir()
    make_zip(root / "e03.zip", {"a.csv": "1\n"})
    make_zip(root / "e04.ZIP", {"a.csv": "1\n"})
    make_zip(root / "e01.zip", {"a.csv": "1\n"})  # duplicate id of the e01 folder
    (root / ".DS_Store").write_bytes(b"\0")
    (root / "grades.csv").write_text("id,score\n")
    (root / "rubric.pdf").write_bytes(b"%PDF-1.4")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text("1\n")
    os.symlink(outside, root / "e05")  # link to a folder
    os.symlink(root / "e03.zip", root / "e06.zip")  # link to a zip
    os.symlink(outside / "x.csv", root / "notes.csv")  # link to a loose file: ignored
    os.symlink(tmp_path / "nowhere", root / "e07")  # dangling

    sources = list_submissions(root)
    got = [(s.id, s.path.name, s.kind) for s in sources]
    assert got == [
        ("Alice", "Alice", "folder"),
        ("e01", "e01", "folder"),
        ("e01.zip", "e01.zip", "zip"),
        ("e02", "e02", "folder"),
        ("e03", "e03.zip", "zip"),
        ("e04", "e04.ZIP", "zip"),
        ("e05", "e05", "link"),
        ("e06", "e06.zip", "link"),
        ("e07", "e07", "link"),
    ]
    assert all(s.path.parent == root for s in sources)
    assert [p.name for p in sources.ignored] == ["grades.csv", "notes.csv", "rubric.pdf"]
    assert isinstance(sources, list)
    assert list_submissions(root) == sources  # deterministic


def test_links_under_root_are_refused_when_opened(tmp_path, scratch):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", root / "e01")
    [source] = list_submissions(root)
    with pytest.raises(SubmissionError, match="symbolic link"):
        with open_submission(source, tmp_root=scratch):
            pass


def test_duplicate_ids_are_compared_ignoring_case(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "E01").mkdir()
    make_zip(root / "e01.zip", {"a.csv": "1\n"})
    make_zip(root / "e01.zip.zip", {"a.csv": "1\n"})  # its bare id is e01.zip's fallback
    (root / "b").mkdir()
    make_zip(root / "B.zip", {"a.csv": "1\n"})
    got = [(s.id, s.path.name) for s in list_submissions(root)]
    assert got == [("b", "b"), ("B.zip", "B.zip"), ("E01", "E01"), ("e01.zip", "e01.zip.zip"),
                   ("e01.zip~2", "e01.zip")]  # bare ids first, then fallbacks
    assert len({i.casefold() for i, _ in got}) == len(got)


def test_undecodable_and_control_characters_in_names_give_printable_ids(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    try:
        os.mkdir(os.fsencode(root) + b"/caf\xe9")
        os.mkdir(os.fsencode(root) + b"/tab\there")
    except OSError:
        pytest.skip("the file system refuses such names")
    ids = sorted(s.id for s in list_submissions(root))
    assert ids == ["caf\ufffd", "tab\ufffdhere"]
    for i in ids:
        i.encode("utf-8")  # JSON- and CSV-safe


def test_fifo_named_zip_is_ignored_not_opened(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "e01.zip")
    sources = list_submissions(root)
    assert list(sources) == [] and [p.name for p in sources.ignored] == ["e01.zip"]


def test_empty_root_lists_nothing(tmp_path):
    sources = list_submissions(tmp_path)
    assert list(sources) == [] and sources.ignored == []


def test_missing_or_unreadable_root_is_a_grader_error(tmp_path):
    with pytest.raises(GraderError, match="no such folder"):
        list_submissions(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GraderError, match="not a folder"):
        list_submissions(tmp_path / "file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who can read anything")
        with pytest.raises(GraderError, match="cannot read the submissions folder"):
            list_submissions(locked)
    finally:
        locked.chmod(0o700)


def test_from_path_follows_an_explicit_link(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "e01")
    source = SubmissionSource.from_path(tmp_path / "e01")
    assert (source.id, source.path, source.kind) == ("e01", tmp_path / "real", "folder")
    make_zip(tmp_path / "e02.Zip", {"a.csv": "1\n"})
    source = SubmissionSource.from_path(tmp_path / "e02.Zip")
    assert (source.id, source.kind) == ("e02", "zip")
    with pytest.raises(SubmissionError, match="no such file or folder"):
        SubmissionSource.from_path(tmp_path / "missing")


# --- opening: the good cases -------------------------------------------------------------------

def test_folder_submission_is_yielded_as_it_is(tmp_path, scratch):
    (tmp_path / "e01").mkdir()
    with open_submission(SubmissionSource("e01", tmp_path / "e01", "folder"),
                         tmp_root=scratch) as folder:
        assert folder == tmp_path / "e01"
    assert (tmp_path / "e01").is_dir()


def test_nested_zip_is_extracted_then_removed(subs, scratch):
    contents = {name: csv_text(50, i) for i, name in enumerate(OUTPUTS)}
    entries = {"e01/": ""} | {f"e01/output_files/{name}.csv": text
                              for name, text in contents.items()}
    entries["e01/layers.py"] = "def conv_forward(x, w, b, conv_param): ...\n"
    path = make_zip(subs / "e01.zip", entries)
    before = tree(subs.parent)
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert folder.parent == scratch
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name, text in contents.items():
            assert (folder / "e01" / "output_files" / f"{name}.csv").read_text() == text
        assert tree(folder) == {"e01", "e01/output_files", "e01/layers.py"} | {
            f"e01/output_files/{name}.csv" for name in OUTPUTS}
        assert tree(subs.parent) - {f"scratch/{folder.name}/{p}" for p in tree(folder)} \
            - {f"scratch/{folder.name}"} == before
    assert not folder.exists()


def test_opening_a_small_zip_takes_milliseconds(subs, scratch):
    path = make_zip(subs / "e01.zip", {f"output_files/{name}_{k}.csv": csv_text(300, k)
                                       for k in range(2) for name in OUTPUTS[:8]})
    timings = []
    for _ in range(10):
        start = time.perf_counter()
        with open_submission(zip_source(path), tmp_root=scratch):
            pass
        timings.append(time.perf_counter() - start)
    assert min(timings) < OPEN_SECONDS


def test_backslash_separators_are_normalised(subs, scratch):
    path = make_zip(subs / "e01.zip", {"e01\\output_files\\conv_forward_out.csv": "1\n"})
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert (folder / "e01" / "output_files" / "conv_forward_out.csv").read_text() == "1\n"


def test_macos_metadata_is_not_extracted(subs, scratch):
    path = make_zip(subs / "e01.zip", {"out/a.csv": "1\n", "__MACOSX/out/._a.csv": b"\0\5\26\7",
                                       "out/._a.csv": b"\0\5\26\7"})
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert tree(folder) == {"out", "out/a.csv"}


def test_stored_entries_and_dot_components_are_fine(subs, scratch):
    path = make_zip(subs / "e01.zip", {"./out/./a.csv": "1\n"}, compression=zipfile.ZIP_STORED)
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert (folder / "out" / "a.csv").read_text() == "1\n"


def test_utf8_names_without_the_flag_are_decoded_as_utf8(subs, scratch):
    name = "résultat.csv".encode()
    path = raw_zip(subs / "e01.zip", [{"name": name, "data": b"1\n"}])
    assert zipfile.ZipFile(path).namelist() == [name.decode("cp437")]  # what zipfile makes of it
    notes = []
    with open_submission(zip_source(path), tmp_root=scratch, notes=notes) as folder:
        assert (folder / "résultat.csv").read_text() == "1\n"
    assert notes == []


def test_legacy_code_page_names_are_read_as_cp437_with_a_note(subs, scratch):
    name = "résultat.csv".encode("latin-1")  # what an old Windows tool writes: not UTF-8
    path = raw_zip(subs / "e01.zip", [{"name": name, "data": b"1\n"}])
    notes = []
    with open_submission(zip_source(path), tmp_root=scratch, notes=notes) as folder:
        assert [p.name for p in folder.iterdir()] == [name.decode("cp437")]
    assert len(notes) == 1 and "cp437" in notes[0] and "e01.zip" in notes[0]


def test_nfd_names_are_normalised_to_nfc(subs, scratch):
    path = make_zip(subs / "e01.zip", {"re\u0301sultat.csv": "1\n"})  # as macOS writes é
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert [p.name for p in folder.iterdir()] == ["r\u00e9sultat.csv"]


def test_symlink_entries_are_skipped_with_a_note(subs, scratch, tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("secret")
    entries = []
    for name, points_to in [("out/link.csv", str(target)), ("out/up", "../../..")]:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        entries.append((info, points_to))
    entries.append(("out/a.csv", "1\n"))
    path = make_zip(subs / "e01.zip", entries)
    notes = []
    with open_submission(zip_source(path), tmp_root=scratch, notes=notes) as folder:
        assert tree(folder) == {"out", "out/a.csv"}
        assert not any(os.path.islink(os.path.join(folder, p)) for p in tree(folder))
    assert len(notes) == 2 and all("symbolic link" in n for n in notes)
    assert "'out/link.csv'" in notes[0]


def test_temporary_folder_is_removed_when_grading_raises(subs, scratch):
    path = make_zip(subs / "e01.zip", {"a.csv": "1\n"})
    with pytest.raises(RuntimeError):
        with open_submission(zip_source(path), tmp_root=scratch) as folder:
            assert (folder / "a.csv").exists()
            raise RuntimeError("grading failed")
    assert not folder.exists()


def test_temporary_folder_that_cannot_be_made_is_a_grader_error(subs, tmp_path):
    path = make_zip(subs / "e01.zip", {"a.csv": "1\n"})
    with pytest.raises(GraderError, match="cannot create a temporary folder") as caught:
        with open_submission(zip_source(path), tmp_root=tmp_path / "missing"):
            pass
    assert not isinstance(caught.value, SubmissionError)


# --- opening: refusals -------------------------------------------------------------------------

@pytest.mark.parametrize("name, match", [
    ("../evil.csv", r"'\.\./evil\.csv': contains '\.\.'"),
    ("a/../../evil.csv", "contains '..'"),
    ("a/../evil.csv", "contains '..'"),  # stays inside, but no honest tool writes it
    ("..\\evil.csv", "contains '..'"),
    ("/tmp/evil-{u}.csv", "absolute path"),
    ("\\\\server\\share\\evil-{u}.csv", "absolute path"),
    ("C:\\evil.csv", "drive letter"),
    ("C:evil.csv", "drive letter"),
    ("C:/Windows/evil.csv", "drive letter"),
])
def test_entries_that_would_land_outside_are_refused(subs, scratch, name, match):
    name = name.replace("{u}", uuid.uuid4().hex)
    path = make_zip(subs / "e01.zip", {"ok.csv": "1\n", name: "evil\n"})
    assert zipfile.ZipFile(path).namelist()[1] == name  # zipfile wrote the name unchanged
    refused(path, scratch, match)
    if name.startswith("/"):
        assert not os.path.exists(name)
    assert not (subs.parent / "evil.csv").exists()


def test_zip_bomb_declaring_its_size_is_refused_at_once(subs, scratch):
    data = zeros_deflated(300)  # 300 MiB of zeros in 300 KB
    path = raw_zip(subs / "e01.zip", [{"name": b"out.csv", "data": data, "method": 8,
                                       "size": 300 * MiB, "crc": 0}])
    start = time.perf_counter()
    refused(path, scratch, r"'out\.csv': is 300\.0 MB uncompressed, more than the 20\.0 MB")
    assert time.perf_counter() - start < BOMB_SECONDS


@pytest.mark.parametrize("crc_ok", [True, False])
def test_zip_bomb_with_lying_header_is_stopped_at_the_declared_size(subs, scratch, crc_ok):
    data = zeros_deflated(300)  # 300 MiB of zeros, declared as 1000 bytes
    crc = zlib.crc32(bytes(1000)) if crc_ok else 0
    path = raw_zip(subs / "e01.zip", [{"name": b"out.csv", "data": data, "method": 8,
                                       "size": 1000, "crc": crc}])
    start = time.perf_counter()
    if crc_ok:  # the first 1000 bytes check out: they are all anyone gets
        with open_submission(zip_source(path), tmp_root=scratch) as folder:
            assert (folder / "out.csv").stat().st_size == 1000
    else:
        refused(path, scratch, r"corrupt zip: entry 'out\.csv': Bad CRC-32")
    assert time.perf_counter() - start < BOMB_SECONDS


def test_high_compression_ratio_is_refused(subs, scratch):
    path = make_zip(subs / "e01.zip", {"out.csv": bytes(5 * MiB)})
    refused(path, scratch, r"expands from .* to 5\.0 MB \(more than 200 to 1\): refused as a zip "
                           r"bomb")


def test_small_repetitive_files_are_not_taken_for_bombs(subs, scratch):
    zeros = "0.000000000000000000e+00\n" * 600  # an all-zeros answer: compresses over 300 to 1
    path = make_zip(subs / "e01.zip", {"maxpool_backward_out.csv": zeros})
    assert zipfile.ZipFile(path).infolist()[0].compress_size * 200 < len(zeros)
    with open_submission(zip_source(path), tmp_root=scratch) as folder:
        assert (folder / "maxpool_backward_out.csv").read_text() == zeros


def test_overlapping_entries_bomb_is_refused_by_the_total(subs, scratch):
    # Many central-directory records pointing at the same compressed data (Fifield's "better zip
    # bomb"): each entry is within the per-entry cap; together they are not.
    data = zeros_deflated(15)
    local = raw_zip(subs / "one.zip", [{"name": b"a00.csv", "data": data, "method": 8,
                                        "size": 15 * MiB, "crc": zlib.crc32(bytes(15 * MiB))}])
    blob = local.read_bytes()
    local.unlink()
    body = blob[:blob.index(b"PK\x01\x02")]
    record = blob[blob.index(b"PK\x01\x02"):blob.index(b"PK\x05\x06")]
    central = b"".join(record[:-7] + f"a{i:02d}.csv".encode() for i in range(10))
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 10, 10, len(central), len(body), 0)
    path = subs / "e01.zip"
    path.write_bytes(body + central + eocd)
    start = time.perf_counter()
    refused(path, scratch, r"'a03\.csv': brings the zip's uncompressed size over the 50\.0 MB",
            limits=ZipLimits(max_ratio=10**6))  # else refused at once for its ratio
    assert time.perf_counter() - start < BOMB_SECONDS


def test_caps_are_parameters(subs, scratch):
    path = make_zip(subs / "e01.zip", {"a.csv": csv_text(100), "b.csv": csv_text(100)})
    refused(path, scratch, "more than the 1.0 KB allowed for one file",
            limits=ZipLimits(max_entry_bytes=1024))
    refused(path, scratch, "over the 3.0 KB allowed", limits=ZipLimits(max_total_bytes=3072))
    refused(path, scratch, "more than the 100 bytes allowed", limits=ZipLimits(
        max_archive_bytes=100))


def test_too_many_entries_are_refused(subs, scratch):
    path = make_zip(subs / "e01.zip", {f"f{i}.csv": "" for i in range(2001)})
    refused(path, scratch, "holds 2,001 entries, more than the 2,000 allowed")


def test_entry_count_is_checked_before_zipfile_parses_the_directory(subs, scratch, monkeypatch):
    path = make_zip(subs / "e01.zip", {f"f{i}.csv": "" for i in range(20)})
    monkeypatch.setattr(zipfile, "ZipFile", None)  # would fail if reached
    refused(path, scratch, "holds 20 entries", limits=ZipLimits(max_entries=10))


def test_zip64_entry_count_is_read(subs, scratch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(20):
            zf.writestr(f"f{i}.csv", "")
    blob = buffer.getvalue()
    at = blob.rindex(b"PK\x05\x06")
    body_and_central, eocd = blob[:at], bytearray(blob[at:])
    cd_size, cd_offset = struct.unpack("<LL", eocd[12:20])
    record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 20, 20, cd_size,
                         cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(body_and_central), 1)
    eocd[8:12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    path = subs / "e01.zip"
    path.write_bytes(body_and_central + record + locator + bytes(eocd))
    assert len(zipfile.ZipFile(path).infolist()) == 20
    refused(path, scratch, "holds 20 entries", limits=ZipLimits(max_entries=10))


def test_truncated_zip_is_corrupt(subs, scratch):
    path = make_zip(subs / "e01.zip", {"a.csv": csv_text(500)})
    path.write_bytes(path.read_bytes()[:400])
    refused(path, scratch, r"corrupt zip: its table of contents .* is missing")


def test_damaged_entry_data_is_corrupt(subs, scratch):
    path = make_zip(subs / "e01.zip", {"a.csv": csv_text(500)})
    blob = bytearray(path.read_bytes())
    for i in range(60, 200):  # inside the compressed data of the only entry
        blob[i] ^= 0x55
    path.write_bytes(bytes(blob))
    refused(path, scratch, r"corrupt zip: entry 'a\.csv': ")


@pytest.mark.parametrize("content, match", [
    (b"id,score\n1,2\n", "not a zip archive$"),
    (b"", "not a zip archive: the file is empty"),
    (b"Rar!\x1a\x07\x01\x00" + bytes(100), "not a zip archive: it is a RAR archive"),
    (b"\x1f\x8b\x08" + bytes(100), r"it is a gzip file \(\.tar\.gz\?\)"),
])
def test_non_zip_renamed_zip_is_refused(subs, scratch, content, match):
    path = subs / "e01.zip"
    path.write_bytes(content)
    refused(path, scratch, match)


def test_encrypted_entry_is_refused(subs, scratch):
    path = raw_zip(subs / "e01.zip", [{"name": b"ok.csv", "data": b"1\n"},
                                      {"name": b"a.csv", "data": bytes(24), "flags": 0x1}])
    refused(path, scratch, r"'a\.csv': is encrypted \(password-protected\)")


def test_unsupported_compression_is_refused(subs, scratch):
    path = make_zip(subs / "e01.zip", {"a.csv": "1\n"}, compression=zipfile.ZIP_BZIP2)
    refused(path, scratch, r"'a\.csv': uses bzip2 compression")


def test_name_marked_utf8_but_invalid_is_corrupt(subs, scratch):
    path = raw_zip(subs / "e01.zip", [{"name": b"r\xe9sultat.csv", "data": b"1\n",
                                       "flags": 0x800}])
    refused(path, scratch, "marked as UTF-8 but is not valid UTF-8")


@pytest.mark.parametrize("name, match", [
    (b"out\x00.csv", "control character U\\+0000"),
    (b"out\n.csv", "control character U\\+000A"),
    (b"\x1b[31mred.csv", "control character U\\+001B"),
    (b"a/" * 600 + b"x.csv", "characters long, more than the 1,024 allowed"),
    (b"x" * 300 + b".csv", "longer than 255 bytes"),
])
def test_odd_names_are_refused(subs, scratch, name, match):
    path = raw_zip(subs / "e01.zip", [{"name": name, "data": b"1\n"}])
    refused(path, scratch, match)


@pytest.mark.parametrize("names, match", [
    (["out/a.csv", "out/a.csv"], r"'out/a\.csv': appears twice"),
    (["out/a.csv", "OUT/A.csv"], r"'OUT/A\.csv': appears twice \(as 'out/a\.csv' too"),
    (["out\\a.csv", "out/a.csv"], "appears twice"),
    (["out", "out/a.csv"], r"entry 'out' is a file, but entry 'out/a\.csv' uses it as a folder"),
    (["out", "out/"], r"entry 'out' is a file, but entry 'out/' uses it as a folder"),
])
def test_duplicate_and_conflicting_entries_are_refused(subs, scratch, names, match):
    path = raw_zip(subs / "e01.zip", [{"name": n.encode(), "data": b"1\n"} for n in names])
    refused(path, scratch, match)


def test_special_file_entries_are_skipped(subs, scratch):
    path = raw_zip(subs / "e01.zip", [{"name": b"fifo", "data": b"", "mode": stat.S_IFIFO | 0o644},
                                      {"name": b"a.csv", "data": b"1\n"}])
    notes = []
    with open_submission(zip_source(path), tmp_root=scratch, notes=notes) as folder:
        assert tree(folder) == {"a.csv"}
    assert "special file" in notes[0]


def test_zip_that_is_a_link_or_gone_is_refused(subs, scratch, tmp_path):
    real = make_zip(tmp_path / "real.zip", {"a.csv": "1\n"})
    os.symlink(real, subs / "e01.zip")
    refused(subs / "e01.zip", scratch, "symbolic link")
    with pytest.raises(SubmissionError, match="no longer exists"):
        with open_submission(zip_source(subs / "e02.zip"), tmp_root=scratch):
            pass


def test_bytes_are_counted_while_extracting_whatever_the_header_says(tmp_path):
    # zipfile itself stops at the declared size; this checks our own count, independently.
    class FakeZip:
        def open(self, info):
            return io.BytesIO(bytes(3 * intake._CHUNK))

    info = zipfile.ZipInfo("a.csv")
    info.file_size = 10
    entry = intake._Entry(info, ("a.csv",), "'a.csv'")
    with pytest.raises(SubmissionError, match="expands beyond the 10 bytes its header declares"):
        intake._copy_entry(FakeZip(), entry, io.BytesIO(), tmp_path / "e.zip", ZipLimits(), 10**9)
    info.file_size = 10**9
    with pytest.raises(SubmissionError, match="refused as a zip bomb"):
        intake._copy_entry(FakeZip(), entry, io.BytesIO(), tmp_path / "e.zip", ZipLimits(),
                           budget=100)


def test_extract_zip_writes_into_a_given_folder(subs, tmp_path):
    path = make_zip(subs / "e01.zip", {"a/b.csv": "1\n", "c.csv": "2\n"})
    dest = tmp_path / "dest"
    dest.mkdir()
    assert extract_zip(path, dest) == 2
    assert tree(dest) == {"a", "a/b.csv", "c.csv"}
