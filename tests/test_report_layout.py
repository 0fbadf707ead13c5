"""The pages as a browser lays them out: readable at phone width (400 px) and on a desktop
(1280 px), with nothing running off the right edge, and the class report's find-and-sort script
allowed by its Content-Security-Policy and working.

Runs headless Chromium (Debian package ``chromium``; .ci/run installs it). Without it these tests
skip and say so: the layout cannot be measured without a browser.
"""
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from grader.batch.run import grade_batch

from simulated import EXPECTED, INPUTS, ROOT, SPEC

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium to lay the pages out "
                                                         "(apt-get install chromium)")

# A page of our own that loads a report page in a frame of the given width and measures it.
MEASURE = """<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="frame" src="%(page)s" style="width: %(width)dpx; height: 900px; border: 0"></iframe>
<script>
document.getElementById("frame").addEventListener("load", function () {
  var doc = this.contentDocument, width = doc.documentElement.clientWidth, beyond = [];
  var boxes = doc.querySelectorAll("main td, main th, main h1, main h2, main .tile, main li, " +
                                   "main .callout, main section, main .message, main dd");
  for (var i = 0; i < boxes.length; i++) {
    var r = boxes[i].getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) {
      beyond.push(boxes[i].tagName + "." + boxes[i].className + " ends at " + Math.round(r.right));
    }
  }
  var result = {width: width, scrollWidth: doc.documentElement.scrollWidth, beyond: beyond};
  var tools = doc.getElementById("students-tools");
  if (tools) {
    var input = doc.getElementById("student-filter");
    input.value = "%(find)s";
    input.dispatchEvent(new Event("input"));
    var rows = doc.querySelectorAll("#students-by-id tbody tr");
    result.tools_shown = !tools.hidden;
    result.rows_shown = Array.prototype.filter.call(rows, function (r) { return !r.hidden; }).length;
  }
  document.getElementById("out").textContent = JSON.stringify(result);
});
</script></body></html>"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The simulated golden class (every catalogued mistake, notes, flags) graded into reports."""
    root = tmp_path_factory.mktemp("class")
    with zipfile.ZipFile(ROOT / "tests" / "golden" / "simulated_class.zip") as archive:
        archive.extractall(root / "subs")
    out = root / "grades"
    grade_batch(root / "subs", spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED,
                out_dir=out, jobs=1)
    return out


def measure(folder, page, width, find=""):
    probe = Path(folder) / "measure.html"
    probe.write_text(MEASURE % {"page": page, "width": width, "find": find})
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--allow-file-access-from-files", "--virtual-time-budget=10000",
                          "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    text = dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    return json.loads(text.replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("width", [400, 1280])
def test_class_report_fits_the_width(graded, width):
    result = measure(graded, "report.html", width)
    assert result["beyond"] == [] and result["scrollWidth"] <= result["width"], result


@pytest.mark.parametrize("width", [400, 1280])
def test_feedback_pages_fit_the_width(graded, width):
    failing = sorted((graded / "feedback").glob("s0*_column_major*.html"))[0]
    result = measure(graded, f"feedback/{failing.name}", width)
    assert result["beyond"] == [] and result["scrollWidth"] <= result["width"], result


def test_the_student_table_script_runs_under_the_page_policy(graded):
    result = measure(graded, "report.html", 1280, find="t00")
    assert result["tools_shown"] is True
    assert result["rows_shown"] == 4  # t000_correct .. t003_correct
