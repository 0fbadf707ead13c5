"""Simulated students for tests: the example-class builder, importable from tests."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "assignment.toml"
INPUTS = ROOT / "input_files"
EXPECTED = ROOT / "expected"

_spec = importlib.util.spec_from_file_location("make_example_class",
                                               ROOT / "examples" / "make_example_class.py")
example_class = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example_class)

correct_outputs = example_class.correct_outputs
texts = example_class.texts


def write_submission(folder, files):
    """Write ``files`` (file name -> text or bytes) into ``folder``; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder
