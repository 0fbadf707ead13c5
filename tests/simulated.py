"""Paths of the committed default assignment, and writing a simulated submission, for the tests."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "assignment.toml"
INPUTS = ROOT / "input_files"
EXPECTED = ROOT / "expected"


def write_submission(folder, files):
    """Write ``files`` (file name -> text or bytes) into ``folder``; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder
