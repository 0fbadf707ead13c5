"""Intake: listing submissions under ROOT and opening folders and zips safely.

Hostile zips are crafted in tmp_path, with zipfile where it writes what we need and with
``raw_zip`` (headers packed by hand) where it would not: lying sizes, encryption flags, names that
are not UTF-8. Every refusal must leave nothing behind: no file outside the temporary folder and
no temporary folder either.
"""
import io
import os
import re
import stat
import struct
import uuid
import zipfile
import zlib

import pytest

from grader.intake import zips as intake
from grader.errors import GraderError, SubmissionError
from grader.pipeline import grade_submission
from grader.intake.submissions import SubmissionSource, list_submissions, open_submission
from grader.intake.zips import ZipLimits, extract_zip

from grader.simulate import correct_outputs
from grader.simulate import texts as output_texts

MiB = 1024 * 1024

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
    (default crc32(data)), ``flags`` (0), ``mode`` (Unix st_mode in the external attributes),
    ``version`` (the version needed to extract, in the central directory: 20).
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
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", (3 << 8) | 20,
                               e.get("version", 20), flags,
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


def test_hidden_entries_are_listed_as_ignored_but_known_litter_is_not(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for folder in [".git", ".ipynb_checkpoints", "__MACOSX", ".e0123", ".Trashes", "e01"]:
        (root / folder).mkdir()
    for name in [".DS_Store", "._e01.zip", "Thumbs.db", "DESKTOP.INI", "..foo", ".e02.zip",
                 ".gitignore"]:
        (root / name).write_bytes(b"\0")
    sources = list_submissions(root)
    assert [s.id for s in sources] == ["e01"]
    assert [p.name for p in sources.ignored] == ["..foo", ".e0123", ".e02.zip"]


def test_direction_changing_characters_in_ids_are_replaced(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "e01\u202egpj.zip").mkdir()
    assert [s.id for s in list_submissions(root)] == ["e01\ufffdgpj.zip"]


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
    refused(path, scratch, r"'out\.csv': is 300\.0 MB uncompressed, more than the 20\.0 MB")


@pytest.mark.parametrize("crc_ok", [True, False])
def test_zip_bomb_with_lying_header_is_stopped_at_the_declared_size(subs, scratch, crc_ok):
    data = zeros_deflated(300)  # 300 MiB of zeros, declared as 1000 bytes
    crc = zlib.crc32(bytes(1000)) if crc_ok else 0
    path = raw_zip(subs / "e01.zip", [{"name": b"out.csv", "data": data, "method": 8,
                                       "size": 1000, "crc": crc}])
    if crc_ok:  # the first 1000 bytes check out: they are all anyone gets
        with open_submission(zip_source(path), tmp_root=scratch) as folder:
            assert (folder / "out.csv").stat().st_size == 1000
    else:
        refused(path, scratch, r"corrupt zip: entry 'out\.csv': Bad CRC-32")


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
    refused(path, scratch, r"'a03\.csv': brings the zip's uncompressed size over the 50\.0 MB",
            limits=ZipLimits(max_ratio=10**6))  # else refused at once for its ratio


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


def directory_bomb(path, records, declared=1):
    """A zip whose central directory holds ``records`` records (all for one empty entry) while
    its end record declares ``declared``."""
    body = struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, 1, 0) + b"a"
    record = struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", (3 << 8) | 20, 20, 0, 0, 0, 0x21,
                         0, 0, 0, 1, 0, 0, 0, 0, 0o100644 << 16, 0) + b"a"
    central = record * records
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, declared, declared, len(central),
                       len(body), 0)
    path.write_bytes(body + central + eocd)
    return path


def test_directory_larger_than_the_entries_allowed_need_is_refused_unparsed(subs, scratch):
    # 1.2 million records in 56 MB, "1 entry" in the end record: zipfile took 8 s and 490 MB to
    # parse them before the entry count could be judged.
    path = directory_bomb(subs / "e01.zip", 1_200_000)
    refused(path, scratch, r"table of contents \(central directory\) is 53\.8 MB, more than the "
                           r"9\.9 MB that 2,000 entries can need")


def test_directory_records_are_counted_whatever_the_end_record_says(subs, scratch, monkeypatch):
    path = directory_bomb(subs / "e01.zip", 50)  # 2.4 KB: within the size 10 entries can need
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 50  # what zipfile would parse
    monkeypatch.setattr(zipfile, "ZipFile", None)  # would fail if reached
    refused(path, scratch, "table of contents lists more than the 10 entries allowed, though its "
                           "end record declares 1", limits=ZipLimits(max_entries=10))


def test_directory_check_without_zipfiles_own_end_record_reader(subs, scratch, monkeypatch):
    path = directory_bomb(subs / "e01.zip", 50)
    monkeypatch.delattr(zipfile, "_EndRecData")
    refused(path, scratch, "lists more than the 10 entries allowed",
            limits=ZipLimits(max_entries=10))


def zip_variants(tmp_path):
    """Zips whose end records are read differently: plain, with a comment, with an end-record
    signature inside the comment, zip64, behind a prefix (self-extracting), too short."""
    plain = make_zip(tmp_path / "plain.zip", {"a.csv": "1\n", "b/c.csv": "2\n"})
    blob = plain.read_bytes()
    variants = {"plain": blob, "prefixed": b"#!/bin/sh\nexit 0\n" * 10 + blob,
                "empty": b"", "short": b"PK\x05\x06" + bytes(10)}
    with zipfile.ZipFile(tmp_path / "comment.zip", "w") as zf:
        zf.writestr("a.csv", "1\n")
        zf.comment = b"made by hand PK\x05\x06 inside"
    variants["comment"] = (tmp_path / "comment.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "comment.zip", "w") as zf:
        zf.writestr("a.csv", "1\n")
        zf.comment = b"PK\x05\x06" + bytes(range(1, 31))  # a forged end record, then more
    variants["forged end record in the comment"] = (tmp_path / "comment.zip").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.csv", "1\n")
    blob = buffer.getvalue()
    at = blob.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", blob[at + 12:at + 20])
    record = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, cd_size,
                         cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    eocd = bytearray(blob[at:])
    eocd[8:12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    variants["zip64"] = blob[:at] + record + locator + bytes(eocd)
    variants["zip64, too short"] = locator + bytes(eocd)
    return variants


def test_end_record_copy_reads_as_zipfile_does(tmp_path):
    # The copy serves a Python whose zipfile lacks _EndRecData; where it has one, they agree.
    for label, blob in zip_variants(tmp_path).items():
        path = tmp_path / "variant.zip"
        path.write_bytes(blob)
        for kind in ("file", "BytesIO"):
            results = []
            for reader in (zipfile._EndRecData, intake._end_record_data):
                with open(path, "rb") if kind == "file" else io.BytesIO(blob) as archive:
                    try:
                        results.append(reader(archive))
                    except (OSError, zipfile.BadZipFile) as e:
                        results.append(type(e))
            assert results[0] == results[1], label


def test_zip_of_a_version_zipfile_does_not_know_is_refused(subs, scratch):
    path = raw_zip(subs / "e01.zip", [{"name": b"a.csv", "data": b"1\n", "version": 99}])
    refused(path, scratch, r"uses a zip feature the grader does not read \(zip file version 9\.9\)")


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


# --- opening: entries skipped with a note ------------------------------------------------------
# An unusable name is not hostile: the entry is skipped, the note says which and why, and the rest
# of the zip is graded. (These were refusals of the whole zip until the policy changed.)

def printable_note(note):
    """A note fit for a terminal, JSON and an HTML report: UTF-8, no control or
    direction-changing character, no lone surrogate."""
    note.encode("utf-8")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", note)
    return note


def opened_with_notes(path, scratch, **kwargs):
    """(tree, {relative path: text}, notes) of a zip that must open."""
    notes = []
    with open_submission(zip_source(path), tmp_root=scratch, notes=notes, **kwargs) as folder:
        found = tree(folder)
        texts = {p: (folder / p).read_text() for p in found if (folder / p).is_file()}
    for note in notes:
        printable_note(note)
    return found, texts, notes


@pytest.mark.parametrize("name, shown, match", [
    (b"out\x00.csv", r"'out\x00.csv'", r"control character U\+0000"),
    (b"out\n.csv", r"'out\n.csv'", r"control character U\+000A"),
    (b"\x1b[31mred.csv", r"'\x1b[31mred.csv'", r"control character U\+001B"),
    (b"code/Icon\r", r"'code/Icon\r'", r"control character U\+000D"),  # a folder's macOS icon
    ("e01\u202egpj.csv".encode(), r"'e01\u202egpj.csv'", r"direction-changing character U\+202E"),
    (b"a/" * 600 + b"x.csv", "'a/a/a/a", r"1,205 characters long, more than the 1,024 allowed"),
    (b"x" * 300 + b".csv", "'xxxx", r"a part longer than 255 bytes"),
    ("é".encode() * 128 + b".csv", "'éééé", r"a part longer than 255 bytes"),  # 132 chars
    (b"d/" * 16 + b"x.csv", "'d/d/d/", r"17 levels in its path, more than the 16 allowed"),
    (b"", "''", "has an empty name"),
])
def test_entries_with_unusable_names_are_skipped_with_a_note(subs, scratch, name, shown, match):
    path = raw_zip(subs / "e01.zip", [{"name": b"out/a.csv", "data": b"1\n"},
                                      {"name": name, "data": b"2\n", "flags": 0x800}])
    found, texts, notes = opened_with_notes(path, scratch)
    assert found == {"out", "out/a.csv"} and texts["out/a.csv"] == "1\n"
    [note] = notes
    assert note.startswith(f"e01.zip: entry {shown}") and re.search(match, note)
    assert note.endswith("not extracted, not graded")


def test_entries_fifteen_folders_deep_are_extracted(subs, scratch):
    name = "d/" * 15 + "x.csv"  # 16 levels: the most allowed
    path = make_zip(subs / "e01.zip", {name: "1\n"})
    _, texts, notes = opened_with_notes(path, scratch)
    assert texts == {name: "1\n"} and notes == []
    path = make_zip(subs / "e01.zip", {name: "1\n", "e/" * 4 + "y.csv": "2\n"})
    _, texts, notes = opened_with_notes(path, scratch, limits=ZipLimits(max_depth=4))
    assert texts == {} and len(notes) == 2 and "more than the 4 allowed" in notes[1]


@pytest.mark.parametrize("names, kept, match", [
    (["out/a.csv", "out/a.csv"], {"out/a.csv": "0"},
     r"entry 'out/a\.csv' has the same name as entry 'out/a\.csv' \(names compared ignoring case"),
    (["out/a.csv", "OUT/A.csv"], {"out/a.csv": "0"},
     r"entry 'OUT/A\.csv' has the same name as entry 'out/a\.csv'.*the first is kept"),
    (["code/Model.py", "code/model.py", "out/a.csv"], {"code/Model.py": "0", "out/a.csv": "2"},
     r"entry 'code/model\.py' has the same name as entry 'code/Model\.py'"),
    (["out\\a.csv", "out/a.csv"], {"out/a.csv": "0"}, "has the same name as entry"),
    (["re\u0301sultat.csv", "r\u00e9sultat.csv"], {"r\u00e9sultat.csv": "0"},
     "has the same name as entry"),  # NFD as macOS writes it, then NFC
    (["out", "out/a.csv"], {"out": "0"},
     r"entry 'out/a\.csv' needs a folder where entry 'out' is a file of the same name"),
    (["out", "out/"], {"out": "0"}, r"entry 'out/' is a folder where entry 'out' is a file"),
    (["a", "A/"], {"a": "0"}, r"entry 'A/' is a folder where entry 'a' is a file"),
    (["A/", "a"], {}, r"entry 'a' is a file where entry 'A/' makes a folder"),
    (["A/b.csv", "a", "a/c.csv"], {"A/b.csv": "0", "a/c.csv": "2"},
     r"entry 'a' is a file where entry 'A/b\.csv' makes a folder"),
])
def test_clashing_entries_keep_the_first_and_skip_the_others(subs, scratch, names, kept, match):
    path = raw_zip(subs / "e01.zip", [{"name": n.encode(), "data": f"{i}\n".encode(),
                                       "flags": 0x800} for i, n in enumerate(names)])
    found, texts, notes = opened_with_notes(path, scratch)
    # Compared ignoring case: folders A/ and a/ are one folder on macOS and two on Linux.
    assert {p.casefold(): t for p, t in texts.items()} == {
        p.casefold(): f"{t}\n" for p, t in kept.items()}
    if names[0] == "A/":
        assert found == {"A"}
    assert len(notes) == 1 and re.search(match, notes[0]), notes


def test_a_file_and_a_folder_differing_only_in_case_extract_alike_everywhere(subs, scratch):
    # What lands on disk must not depend on the file system's case sensitivity.
    path = make_zip(subs / "e01.zip", {"A/b.csv": "1\n", "a/c.csv": "2\n"})
    _, texts, notes = opened_with_notes(path, scratch)
    assert notes == []
    assert texts == {"A/b.csv": "1\n", "a/c.csv": "2\n"} or texts == {"A/b.csv": "1\n",
                                                                       "A/c.csv": "2\n"}


def test_one_bad_entry_no_longer_zeroes_the_submission(tmp_path, context, assignment, inputs):
    # Each of these, beside a complete hand-in, used to refuse the whole zip (0/10) although the
    # same folder unzipped earned 10/10.
    files = output_texts(assignment, correct_outputs(assignment, inputs, seed=3))
    entries = [(f"e01/output_files/{name}", text) for name, text in files.items()]
    odd = ["e01/code/Model.py", "e01/code/model.py", "e01/code/Icon\r", "e01/" + "n" * 300,
           "e01/a", "e01/A/", "e01/b/", "e01/B", "e01/" + "d/" * 20 + "x.py"]
    entries += [(name, "# code\n") for name in odd]
    path = tmp_path / "e01.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in entries:
            zf.writestr(name, text)
    result = grade_submission(path, context)
    assert result.error is None and result.full_marks, result.error
    zip_notes = [n for n in result.notes if n.startswith("e01.zip: ")]
    assert len(zip_notes) == 6, zip_notes
    shown = ["'e01/code/model.py'", r"'e01/code/Icon\r'", "'e01/nnnn", "'e01/A/'", "'e01/B'",
             "'e01/d/d/"]
    for note, name in zip(zip_notes, shown):
        assert note.startswith(f"e01.zip: entry {name}") and printable_note(note)


def test_skipped_entry_notes_are_capped_with_a_summary(subs, scratch):
    entries = [{"name": b"a.csv", "data": b"1\n"}] * 31 + [
        {"name": f"x{i}\r".encode(), "data": b"2\n"} for i in range(12)]
    path = raw_zip(subs / "e01.zip", entries)
    _, texts, notes = opened_with_notes(path, scratch)
    assert texts == {"a.csv": "1\n"}
    assert len(notes) == intake.MAX_ENTRY_NOTES + 1
    assert notes[-1] == ("e01.zip: 22 more entries not extracted, not graded: 10 duplicates, "
                         "12 names with control characters")


def test_deeply_nested_zip_opens_at_once_and_makes_no_folders(subs, scratch):
    # 1,999 entries each ~510 folders deep, names of 1,024 characters: this took 3 minutes and
    # 700 MB, and created a million folders.
    path = subs / "e01.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1999):
            zf.writestr((f"{i:04d}/" + "a/" * 509 + "f")[:1024], b"")
    found, _, notes = opened_with_notes(path, scratch)
    assert found == set()
    assert len(notes) == intake.MAX_ENTRY_NOTES + 1
    assert "has 511 levels in its path, more than the 16 allowed" in notes[0]
    assert notes[-1].endswith(": 1,979 more entries not extracted, not graded: 1,979 nested "
                              "too deep")


def test_folders_created_are_capped(subs, scratch):
    path = make_zip(subs / "e01.zip", {f"{i}/b/c/d.csv": "1\n" for i in range(5)})
    with open_submission(zip_source(path), tmp_root=scratch, limits=ZipLimits(max_folders=15)):
        pass
    refused(path, scratch, r"entry '4/b/c/d\.csv': brings the number of folders the zip makes "
                           r"over the 14 allowed", limits=ZipLimits(max_folders=14))
    # 2,000 entries 16 deep, every folder distinct: refused long before 30,000 folders are made.
    path = make_zip(subs / "e02.zip", {f"{i:04d}/" + "a/" * 14 + "f": "" for i in range(1999)})
    refused(path, scratch, "over the 2,000 allowed")


def test_names_in_notes_and_messages_are_printable(subs, scratch):
    # The zip's own name may hold bytes that are not UTF-8 and control characters; entry names
    # may hold control and direction-changing characters.
    try:
        zip_name = os.fsdecode(b"caf\xe9\x1b[2J.zip")
        path = make_zip(subs / zip_name, {})
    except OSError:
        pytest.skip("the file system refuses such names")
    raw_zip(path, [{"name": b"ok.csv", "data": b"1\n"},
                   {"name": b"caf\xe9\r.csv", "data": b"2\n"},  # legacy code page, and a CR
                   {"name": "x\u202e.csv".encode(), "data": b"3\n", "flags": 0x800},
                   {"name": b"link", "data": b"/etc", "mode": stat.S_IFLNK | 0o777}])
    [source] = list_submissions(subs)
    assert source.id == "caf\ufffd\ufffd[2J"
    notes = []
    with open_submission(source, tmp_root=scratch, notes=notes) as folder:
        assert tree(folder) == {"ok.csv"}
    assert len(notes) == 4
    for note in notes:
        assert printable_note(note).startswith("caf\ufffd\\x1b[2J.zip: ")
    assert "entry 'caf\u0398\\r.csv'" in notes[0] and "entry 'x\\u202e.csv'" in notes[1]
    raw_zip(path, [{"name": b"../\x1b]0;owned\x07\xe9.csv", "data": b"1\n"}])
    error = refused(path, scratch, "contains '..'")
    assert printable_note(error.message).startswith("entry '../\\x1b]0;owned\\x07\u0398.csv'")


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
