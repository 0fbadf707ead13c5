#!/bin/bash
# cnngrade's PrairieLearn grader: the entrypoint that info.json names. PrairieLearn runs it once
# per submission with the question's tests/ in $ROOT/tests and the uploaded files in
# $ROOT/student. It must leave a results file whatever happens: cnngrade writes one, and if
# cnngrade cannot even start, this script writes a "contact the course staff" one itself.
set -uo pipefail

ROOT="${CNNGRADE_GRADE_ROOT:-/grade}"
RESULTS="$ROOT/results/results.json"

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# cnngrade ships in tests/lib; run from there so that nothing else can shadow a module.
cd "$ROOT/tests/lib" && python3 -m grader.platforms.prairielearn
if [ ! -s "$RESULTS" ]; then
    echo "cnngrade did not write $RESULTS; writing the course-staff message instead"
    cat > "$RESULTS" <<'JSON'
{"gradable": false, "message": "The grader could not grade this submission because of a problem on the course's side, not in your files. Please contact the course staff.", "format_errors": ["The grader could not grade this submission because of a problem on the course's side, not in your files. Please contact the course staff."]}
JSON
fi
