"""Ids that only look alike: NFC and NFD spellings, invisible characters (zero-width space, soft
hyphen, BOM) are normalised or made visible, and every clash is reported."""
import json

from grader.intake.submissions import SubmissionSource, list_submissions
from grader.report.terminal import format_batch_summary

from grader.simulate import correct_outputs, texts
from simulated import write_submission
from test_batch import inputs, load_assignment, run_batch

NFC, NFD = "caf\u00e9", "cafe\u0301"


def test_nfc_and_nfd_spellings_are_one_id_and_the_clash_is_reported(tmp_path):
    (tmp_path / NFC).mkdir()
    (tmp_path / NFD).mkdir()
    listed = list_submissions(tmp_path)
    assert [s.id for s in listed] == [NFC, f"{NFC}~2"]
    assert listed.renamed == [f"'cafe\\u0301' is graded as '{NFC}~2': its name gives the same id "
                              f"as '{NFC}''s ('{NFC}'); ids are compared ignoring case and "
                              "look-alike spellings"]
    assert listed[0].path.name == NFC and listed[0].note == ""
    assert listed[1].note == listed.renamed[0]


def test_a_lone_nfd_name_becomes_its_nfc_id_silently(tmp_path):
    (tmp_path / NFD).mkdir()
    listed = list_submissions(tmp_path)
    assert [s.id for s in listed] == [NFC] and listed.renamed == []
    assert SubmissionSource.from_path(tmp_path / NFD).id == NFC


def test_invisible_characters_are_made_visible_and_clashes_reported(tmp_path):
    for name in ("e01", "e01\u200b", "\ufeffe01", "e\u00ad01", "e02\u200c", "e02\u2060"):
        (tmp_path / name).mkdir()
    listed = list_submissions(tmp_path)
    ids = sorted(s.id for s in listed)
    assert ids == sorted(["e01", "e01\ufffd", "\ufffde01", "e\ufffd01", "e02\ufffd",
                          "e02\ufffd~2"])
    notes = listed.renamed
    assert "'e01\\u200b' is graded as 'e01\ufffd': invisible or unprintable characters in its " \
           "name are shown as \ufffd" in notes
    assert "'e02\\u2060' is graded as 'e02\ufffd~2': its name gives the same id as " \
           "'e02\\u200c''s ('e02\ufffd'); ids are compared ignoring case and look-alike " \
           "spellings" in notes
    assert len(notes) == 5  # every id but the plain e01's differs from its name


def test_the_batch_reports_renamed_submissions(tmp_path):
    a = load_assignment()
    for name in (NFC, NFD):
        write_submission(tmp_path / "class" / name / "output_files",
                         texts(a, correct_outputs(a, inputs(), 9)))
    batch = run_batch(tmp_path / "class", tmp_path / "out", jobs=1)
    note = f"'cafe\\u0301' is graded as '{NFC}~2': its name gives the same id as '{NFC}''s " \
           f"('{NFC}'); ids are compared ignoring case and look-alike spellings"
    assert batch.renamed == [note]
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["renamed"] == [note]
    by_id = {s["id"]: s for s in data["submissions"]}
    assert by_id[f"{NFC}~2"]["notes"][0] == note and by_id[NFC]["notes"] == []
    assert f"renamed: {note}" in format_batch_summary(batch, "out").splitlines()
