"""Golden files: the example class and a larger simulated class grade to exactly the files
committed under tests/golden/ (results.json, gradebook.csv, report.html, and the example class's
feedback pages), with the timestamp fixed.

They were written before grader/ was reorganised into stage packages, to prove the move changed
no behaviour. After an intended change of results, rewrite them and review the diff:

    CNNGRADE_REGEN_GOLDEN=1 pytest tests/test_golden.py
"""
import os
import zipfile
from pathlib import Path

from grader.batch.run import grade_batch

from simulated import EXPECTED, INPUTS, ROOT, SPEC

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("CNNGRADE_REGEN_GOLDEN") == "1"
FIXED_TIME = "2017-10-01 12:00:00 UTC"


def graded_files(root, out, with_feedback):
    grade_batch(root, spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED, out_dir=out,
                jobs=1, generated_at=FIXED_TIME)
    names = ["results.json", "gradebook.csv", "report.html"]
    if with_feedback:
        names += sorted(f"feedback/{p.name}" for p in (out / "feedback").glob("*.html"))
    return {name: (out / name).read_bytes() for name in names}


def check_against_golden(files, folder):
    if REGENERATE:
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    golden = {p.relative_to(folder).as_posix(): p.read_bytes()
              for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(golden)
    for name, data in files.items():
        assert data == golden[name], f"{name} differs from tests/golden/{folder.name}/{name}"


def test_example_class_matches_golden(tmp_path):
    files = graded_files(ROOT / "examples" / "submissions", tmp_path / "out", with_feedback=True)
    check_against_golden(files, GOLDEN / "example_class")


def test_simulated_class_matches_golden(tmp_path):
    root = tmp_path / "class"
    with zipfile.ZipFile(GOLDEN / "simulated_class.zip") as archive:
        archive.extractall(root)
    files = graded_files(root, tmp_path / "out", with_feedback=False)
    check_against_golden(files, GOLDEN / "simulated_class")
