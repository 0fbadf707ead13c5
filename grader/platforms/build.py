"""Building the platform graders: the Gradescope autograder zip and the PrairieLearn question.

Both carry a *bundle*: the spec (without its ``[platforms...]`` tables, which the grader's spec
reader does not know), the spec's input files and the expected outputs grading reads, laid out
as ``grading.materials_in`` finds them, and checked by loading them as grading will. Both carry
cnngrade itself as built from this checkout (``pip wheel --no-deps``): the Gradescope zip holds
the wheel, which setup.sh installs; the PrairieLearn question holds the wheel's packages unpacked
in ``tests/lib``, since its grading container has no network to install anything with.

Outputs are deterministic: the same checkout and inputs give byte-identical zips and folders
(the wheel is built with SOURCE_DATE_EPOCH, and every zip entry carries the same fixed time).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jinja2

from grader.atomic import atomic_writer, write_bytes_atomic, write_text_atomic
from grader.errors import GraderError
from grader.platforms import gradescope
from grader.platforms.grading import (Materials, assignment_name, expected_filenames, input_filenames,
                      load_materials, materials_in, output_filenames)
from grader.platforms.settings import gradescope_settings, parse_toml, prairielearn_settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can store: every entry gets it
SOURCE_DATE_EPOCH = "315532800"  # the same instant, for the wheel's own entries
WHEELS_DIRNAME = "wheels"
PL_IMAGE = "prairielearn/grader-python"
PL_ENTRYPOINT = "/grade/tests/run.sh"
PL_LIB_DIRNAME = "lib"
# What `pip wheel` needs from a checkout besides the files pyproject.toml names.
_LICENSE_PATTERNS = ("LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*")
_BUILD_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def build_gradescope(spec, inputs, expected, out, wheel=None):
    """Write the Gradescope autograder zip to ``out``; return its path.

    Its root holds setup.sh, run_autograder, the bundle, the resolved ``[platforms.gradescope]``
    settings and ``wheels/<cnngrade wheel>``. ``wheel``: a cnngrade wheel to ship instead of
    building one from this checkout.
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="cnngrade-gradescope-") as tmp:
        staging = Path(tmp) / "zip"
        context, spec_text = stage_bundle(spec, inputs, expected, staging)
        settings = gradescope_settings(spec_text, [Path(f).stem for f in output_filenames(context)])
        write_text_atomic(staging / gradescope.SETTINGS_NAME,
                          json.dumps(settings.to_dict(), indent=2, sort_keys=True) + "\n")
        wheel_path = _wheel(wheel, Path(tmp) / "wheel")
        shutil.copy2(wheel_path, _mkdir(staging / WHEELS_DIRNAME) / wheel_path.name)
        for script in ("setup.sh", "run_autograder"):
            shutil.copyfile(TEMPLATES / script, staging / script)
        write_zip(staging, out, executables={"setup.sh", "run_autograder"})
    return out


def build_prairielearn(spec, inputs, expected, out_dir, wheel=None):
    """Write a PrairieLearn question folder to ``out_dir`` (new or empty); return its path.

    info.json (external grading with the grader-python image and our entrypoint), question.html
    (a file upload of the output files) and tests/: run.sh, the bundle, and cnngrade's packages
    in tests/lib.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise GraderError("is not an empty folder; choose a new one for the question", path=out_dir)
    with tempfile.TemporaryDirectory(prefix="cnngrade-prairielearn-") as tmp:
        staging = Path(tmp) / "question"
        tests = staging / "tests"
        context, spec_text = stage_bundle(spec, inputs, expected, tests)
        settings = prairielearn_settings(spec_text, assignment_name(context))
        unpack_packages(_wheel(wheel, Path(tmp) / "wheel"), tests / PL_LIB_DIRNAME)
        shutil.copyfile(TEMPLATES / "run_prairielearn.sh", tests / "run.sh")
        (tests / "run.sh").chmod(0o755)
        write_text_atomic(staging / "info.json", json.dumps(_info(settings), indent=2) + "\n")
        write_text_atomic(staging / "question.html", _render("question.html",
                                                            files=output_filenames(context)))
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, out_dir, dirs_exist_ok=True)
    return out_dir


def _info(settings):
    return {
        "uuid": settings.uuid,
        "type": "v3",
        "title": settings.title,
        "topic": settings.topic,
        "tags": ["cnngrade"],
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {"image": PL_IMAGE, "entrypoint": PL_ENTRYPOINT,
                                   "timeout": settings.timeout},
    }


def _render(name, **values):
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     keep_trailing_newline=True)
    return environment.get_template(name).render(**values)


def stage_bundle(spec, inputs, expected, dest):
    """Lay out the bundle in ``dest`` and load it as grading will; return the grading context
    and the spec's full text (with its platform tables, for the settings)."""
    spec = Path(spec)
    try:
        spec_text = spec.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GraderError(f"cannot read the assignment spec: {getattr(e, 'strerror', e)}",
                          path=spec) from None
    parse_toml(spec_text, source=spec)
    bundle = materials_in(dest)
    write_text_atomic(bundle.spec, spec_text)
    # Load with the caller's folders first: an error then names the instructor's own files.
    context = load_materials(Materials(bundle.spec, Path(inputs), Path(expected)))
    for names, source, target in ((input_filenames(context), Path(inputs), bundle.inputs),
                                  (expected_filenames(context), Path(expected), bundle.expected)):
        _mkdir(target)
        for name in names:
            shutil.copyfile(source / name, target / name)
    return load_materials(bundle), spec_text


def build_wheel(dest_dir):
    """Build cnngrade's wheel from this checkout into ``dest_dir``; return its path.

    The checkout's build sources are copied to a temporary folder first, so that the build
    leaves nothing in the checkout and nothing stale in it reaches the wheel.
    """
    pyproject = PROJECT_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        raise GraderError("cnngrade is not running from a source checkout, so it cannot build "
                          "its own wheel; pass --wheel with a cnngrade wheel")
    dest_dir = _mkdir(Path(dest_dir))
    with tempfile.TemporaryDirectory(prefix="cnngrade-wheel-") as tmp:
        source = Path(tmp) / "cnngrade"
        source.mkdir()
        for name in _build_sources(parse_toml(pyproject.read_text("utf-8"), source=pyproject)):
            path = PROJECT_ROOT / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=_BUILD_IGNORE)
            elif path.is_file():
                shutil.copy2(path, source / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "--wheel-dir", str(dest_dir), str(source)]
        environment = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise GraderError(f"building cnngrade's wheel failed (pip needs PyPI for the build "
                              f"tools; or pass --wheel):\n{tail}")
    wheels = sorted(dest_dir.glob("cnngrade-*.whl"))
    if len(wheels) != 1:
        raise GraderError(f"expected one cnngrade wheel from the build, found {len(wheels)}",
                          path=dest_dir)
    return wheels[0]


def _build_sources(pyproject):
    """The top-level files and folders of the checkout that building the wheel reads."""
    project = pyproject.get("project", {})
    tool = pyproject.get("tool", {}).get("setuptools", {})
    names = {"pyproject.toml"}
    readme = project.get("readme")
    if isinstance(readme, str):
        names.add(readme)
    packages = tool.get("packages", [])
    if isinstance(packages, dict):  # [tool.setuptools.packages.find] include = ["grader*", ...]
        packages = [pattern.rstrip("*") for pattern in packages.get("find", {}).get("include", [])]
    names.update(package.split(".")[0] for package in packages if package)
    for sources in tool.get("data-files", {}).values():
        names.update(Path(pattern).parts[0] for pattern in sources)
    for pattern in _LICENSE_PATTERNS:
        names.update(path.name for path in PROJECT_ROOT.glob(pattern))
    return sorted(names)


def _wheel(wheel, build_dir):
    if wheel is None:
        return build_wheel(build_dir)
    wheel = Path(wheel)
    if not (wheel.is_file() and wheel.name.startswith("cnngrade-") and wheel.suffix == ".whl"):
        raise GraderError("is not a cnngrade wheel (cnngrade-<version>-...whl)", path=wheel)
    return wheel


def unpack_packages(wheel, dest):
    """Unpack the wheel's Python packages (not its metadata or data files) into ``dest``."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            top = info.filename.split("/")[0]
            if info.is_dir() or top.endswith((".dist-info", ".data")):
                continue
            if info.filename.startswith("/") or ".." in info.filename.split("/"):
                raise GraderError(f"unexpected entry {info.filename!r} in the wheel", path=wheel)
            target = dest / info.filename
            _mkdir(target.parent)
            write_bytes_atomic(target, archive.read(info))


def write_zip(folder, out, executables=()):
    """Zip ``folder``'s files (sorted, fixed times; mode 755 for ``executables``) into ``out``."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    with atomic_writer(out) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name in executables else 0o100644) << 16
            archive.writestr(info, path.read_bytes())


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path
