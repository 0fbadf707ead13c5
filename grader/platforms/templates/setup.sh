#!/usr/bin/env bash
# cnngrade's autograder set-up. Gradescope runs this once, as root, when it builds the autograder
# image (Ubuntu 22.04 and its python3.10). It installs cnngrade from the wheel in this zip into a
# virtual environment at $ROOT/venv (numpy, pandas, click, jinja2 and PyYAML come from PyPI), then
# loads the spec, inputs and expected outputs as grading will. Any failure stops the build, so a
# broken autograder shows up when it is uploaded, not at a student's first submission.
set -euo pipefail

ROOT="${CNNGRADE_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
cd "$SOURCE"  # holds no Python: nothing here can shadow a module of the venv

if [ ! -x "$VENV/bin/python" ]; then
    # Ubuntu's python3 comes without venv and pip (Debian packages them apart).
    if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv python3-pip
    fi
    python3 -m venv "$VENV"
fi

PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --no-cache-dir)
# cnngrade and its dependencies, then this zip's cnngrade again: pip would keep an installed
# cnngrade of the same version (a set-up run twice) instead of the one in this zip.
"${PIP[@]}" --only-binary=:all: "$SOURCE"/wheels/cnngrade-*.whl
"${PIP[@]}" --no-deps --force-reinstall "$SOURCE"/wheels/cnngrade-*.whl
"$VENV/bin/python" -m grader.platforms.gradescope check
