#!/usr/bin/env bash
# Screenshot a graded class's reports with headless Chromium, to look at the design.
#
#   scripts/screenshot_reports.sh GRADES_DIR OUT_DIR [FEEDBACK_PAGE]
#
# GRADES_DIR is what `cnngrade batch --out` wrote (report.html and feedback/). Writes
# OUT_DIR/report.png and OUT_DIR/feedback.png (FEEDBACK_PAGE, a file under GRADES_DIR/feedback/,
# or by default the first page in name order with a failing output, else the first page).
# Chromium: the Debian package `chromium` (apt-get install -y chromium). It runs offline, with a
# fresh profile, no sandbox (containers), and no background network traffic.
# Environment: WINDOW (default 1280,2000), CHROMIUM (the browser to run).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 GRADES_DIR OUT_DIR [FEEDBACK_PAGE]" >&2
    exit 2
fi
grades=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
window=${WINDOW:-1280,2000}

browser=${CHROMIUM:-}
if [[ -z "$browser" ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
    done
fi
if [[ -z "$browser" ]]; then
    echo "no Chromium found: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi
if [[ ! -f "$grades/report.html" ]]; then
    echo "$grades/report.html not found: is $1 a folder written by cnngrade batch?" >&2
    exit 1
fi

if [[ $# -eq 3 ]]; then
    feedback="$grades/feedback/$3"
else
    # The first feedback page (in name order) showing a failure, so the screenshot has something to say.
    feedback=$(grep -l 'class="fail"' "$grades"/feedback/*.html 2>/dev/null | LC_ALL=C sort | head -n 1 || true)
    if [[ -z "$feedback" ]]; then
        feedback=$(ls "$grades"/feedback/*.html 2>/dev/null | LC_ALL=C sort | head -n 1 || true)
    fi
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

file_uri() {  # an absolute path as a file:// URI, percent-encoded
    python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$1"
}

shoot() {  # shoot PAGE PNG
    "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" \
        --screenshot="$2" --window-size="$window" "$(file_uri "$1")" >/dev/null 2>&1
    if [[ ! -s "$2" ]]; then
        echo "Chromium wrote no screenshot for $1" >&2
        exit 1
    fi
    echo "$2"
}

shoot "$grades/report.html" "$out/report.png"
if [[ -n "$feedback" && -f "$feedback" ]]; then
    shoot "$feedback" "$out/feedback.png"
else
    echo "no feedback page under $grades/feedback/" >&2
fi
