"""Shared by the platform tests: cnngrade's wheel built once, fresh virtual environments that
see only the packages asked for, the results schemas, and submissions of every kind."""
import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import numpy as np

from grader.platforms.build import build_wheel

from grader.simulate import correct_outputs, texts

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# Imported by a grader only through a blocked import: a sitecustomize that refuses them proves
# that grading needs NumPy alone.
NOT_NUMPY = ("pandas", "click", "jinja2", "yaml", "scipy", "markupsafe")


@functools.lru_cache(maxsize=None)
def built_wheel():
    """cnngrade's wheel, built from this checkout once per test run."""
    folder = Path(tempfile.mkdtemp(prefix="cnngrade-test-wheel-"))
    atexit.register(shutil.rmtree, folder, True)
    return build_wheel(folder)


def fresh_venv(path, modules, with_pip=False):
    """A new virtual environment at ``path`` in which ``modules`` (names) can be imported from
    where this test run finds them, and nothing else of this environment: not cnngrade."""
    base = getattr(sys, "_base_executable", sys.executable)
    command = [base, "-m", "venv", str(path)] + ([] if with_pip else ["--without-pip"])
    subprocess.run(command, check=True, capture_output=True)
    found = subprocess.run([str(path / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           check=True, capture_output=True, text=True)
    folders = sorted({str(Path(__import__(name).__file__).resolve().parents[1]) for name in modules})
    # A .pth adds these folders to the path; .pth files inside them are not read, so an editable
    # cnngrade of this test run does not come along.
    Path(found.stdout.strip(), "_cnngrade_test_packages.pth").write_text("\n".join(folders) + "\n")
    return path


def import_blocker(folder, blocked=NOT_NUMPY):
    """A folder whose sitecustomize.py makes importing any of ``blocked`` fail; put it on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n\n\nclass _Blocked:\n"
        f"    names = {tuple(blocked)!r}\n\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in self.names:\n"
        "            raise ImportError(f'{name} is blocked: the grader must need numpy alone')\n"
        "        return None\n\n\n"
        "sys.meta_path.insert(0, _Blocked())\n")
    return folder


def validate(results, schema_name):
    schema = json.loads((SCHEMAS / schema_name).read_text())
    jsonschema.validate(results, schema, cls=jsonschema.Draft202012Validator)
    return results


def correct_files(assignment, inputs, seed=11):
    return texts(assignment, correct_outputs(assignment, inputs, seed=seed))


def buggy_files(assignment, inputs):
    """Two catalogued mistakes: conv dx written column-major, dropout p read as keep-probability."""
    files = correct_files(assignment, inputs, seed=12)
    outputs = correct_outputs(assignment, inputs, seed=12)
    dx = outputs["conv_backward_out_dx"]
    files["conv_backward_out_dx.csv"] = "".join(f"{v:.18e}\n" for v in dx.ravel(order="F"))
    rng = np.random.default_rng(7)
    x = inputs["dropout_forward_in_x"]
    keep = rng.random(x.shape) < 0.3  # p = 0.3 read as the keep-probability
    files["dropout_forward_out_train.csv"] = "".join(
        " ".join(f"{v:.18e}" for v in row) + "\n" for row in x * keep / 0.3)
    return files


def zip_slip(path):
    """A zip with one entry that climbs out of the folder it is extracted to."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("output_files/conv_forward_out.csv", "1.0\n")
        archive.writestr("../../escaped.csv", "pwned\n")
    return path


def fill(folder, files):
    """Make ``folder`` hold exactly ``files`` (name -> text or bytes)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return folder


def environment(**variables):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CNNGRADE_")}
    env.update(variables)
    return env
