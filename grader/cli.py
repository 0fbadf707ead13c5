"""The `cnngrade` command: thin click commands over the library; errors rendered in one place.

Exit codes: 0 graded (whatever the score), 1 grading could not run (bad spec, stale or missing
expected/, unreadable ROOT), 2 usage error, 3 `check --strict` without full marks.
"""
import functools
import sys

import click

from grader import __version__
from grader.batch.cli import merge, shard_option, shard_summary
from grader.course.cli import diff, export
from grader.errors import GraderError

EXIT_CANNOT_RUN = 1
EXIT_NOT_FULL_MARKS = 3


def reports_errors(command):
    """Turn a GraderError into one clean line and exit code 1; tracebacks only with --debug."""

    @functools.wraps(command)
    def wrapper(*args, debug=False, **kwargs):
        try:
            return command(*args, **kwargs)
        except GraderError as e:
            if debug:
                raise
            click.echo(f"cnngrade: error: {e}", err=True)
            sys.exit(EXIT_CANNOT_RUN)

    return click.option("--debug", is_flag=True, help="Show a traceback on errors.")(wrapper)


spec_option = click.option("--spec", "spec_path", default="assignment.toml", show_default=True,
                           type=click.Path(dir_okay=False), help="The assignment spec.")
inputs_option = click.option("--inputs", "inputs_dir", default="input_files", show_default=True,
                             type=click.Path(file_okay=False), help="The fixed input files.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnngrade")
def main():
    """Autograder for the build-a-CNN-from-its-layers assignment."""


@main.command()
@spec_option
@click.option("--out", "out_dir", default="input_files", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the input files.")
@click.option("--audit", is_flag=True,
              help="Write nothing; print which catalogued mistakes the spec's inputs can catch.")
@reports_errors
def inputs(spec_path, out_dir, audit):
    """Regenerate the fixed input files from the spec (byte-identical for a given seed).

    With --audit, write nothing and print, for every output, which catalogued mistakes these
    inputs can catch, and a final line "N of M mistakes caught"; exit 0 either way.
    """
    from grader.assignment.generate import make_inputs, write_inputs
    from grader.assignment.spec import load_spec

    assignment = load_spec(spec_path)
    if audit:
        from grader.diagnosis.audit import audit_inputs, format_audit, tie_warnings

        arrays = make_inputs(assignment)
        click.echo(format_audit(audit_inputs(assignment, arrays)))
        for warning in tie_warnings(assignment, arrays):
            click.echo(f"warning: {warning}")
        return
    paths = write_inputs(assignment, out_dir)
    click.echo(f"wrote {len(paths)} input files to {out_dir}")


@main.command()
@spec_option
@inputs_option
@click.option("--out", "out_dir", default="expected", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the expected outputs.")
@reports_errors
def expected(spec_path, inputs_dir, out_dir):
    """Compute the reference's expected outputs for the inputs, with a manifest."""
    from grader.diagnosis.audit import tie_warnings
    from grader.assignment.generate import read_inputs, write_expected
    from grader.assignment.spec import load_spec

    assignment = load_spec(spec_path)
    manifest = write_expected(assignment, inputs_dir, out_dir)
    click.echo(f"wrote {len(manifest['outputs'])} expected outputs and manifest.json to {out_dir}")
    for warning in tie_warnings(assignment, read_inputs(assignment, inputs_dir)):
        click.echo(f"warning: {warning}", err=True)


@main.command()
@click.argument("submission", type=click.Path(exists=True))
@spec_option
@inputs_option
@click.option("--expected", "expected_dir", default=None, type=click.Path(file_okay=False),
              help="The expected outputs [default: expected, if it exists; without it only names, "
                   "counts, format and dropout statistics are checked].")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the result as JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write a feedback page.")
@click.option("--strict", is_flag=True, help="Exit 3 unless the submission has full marks.")
@click.option("--show-expected", is_flag=True,
              help="Instructors: show expected values where outputs differ (never give this to students).")
@reports_errors
def check(submission, spec_path, inputs_dir, expected_dir, json_path, html_path, strict, show_expected):
    """Grade one SUBMISSION folder or zip and print a table, one row per output."""
    from grader.pipeline import check_submission

    result, _ = check_submission(submission, spec_path=spec_path, inputs_dir=inputs_dir,
                                 expected_dir=expected_dir, json_path=json_path,
                                 html_path=html_path, show_expected=show_expected)
    from grader.report.terminal import format_submission

    click.echo(format_submission(result, color=sys.stdout.isatty()))
    if strict and not result.full_marks:
        sys.exit(EXIT_NOT_FULL_MARKS)


@main.command()
@click.argument("root", type=click.Path(file_okay=False))
@spec_option
@inputs_option
@click.option("--expected", "expected_dir", default="expected", show_default=True,
              type=click.Path(file_okay=False), help="The expected outputs.")
@click.option("--out", "out_dir", default="grades", show_default=True,
              type=click.Path(file_okay=False), help="Where to write results and reports.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: every core].")
@click.option("--time-limit", "seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds allowed per submission [default: 60].")
@shard_option
@reports_errors
def batch(root, spec_path, inputs_dir, expected_dir, out_dir, jobs, seconds, shard):
    """Grade every submission (sub-folder or zip) under ROOT into a gradebook and reports."""
    from grader.batch.run import grade_batch
    from grader.report.terminal import format_batch_summary

    progress = None
    if sys.stderr.isatty():
        def progress(count):
            return click.progressbar(length=count, label="grading", file=sys.stderr)
    options = {"seconds": seconds} if seconds else {}
    result = grade_batch(root, spec_path=spec_path, inputs_dir=inputs_dir,
                         expected_dir=expected_dir, out_dir=out_dir, jobs=jobs,
                         progress=progress, shard=shard, **options)
    click.echo(shard_summary(result, shard, out_dir) if shard
               else format_batch_summary(result, out_dir))


@main.command()
@spec_option
@inputs_option
@click.option("--out", "out_dir", default="handout", show_default=True,
              type=click.Path(file_okay=False), help="A new or empty folder for the hand-out.")
@reports_errors
def template(out_dir, spec_path, inputs_dir):
    """Write the student hand-out for the spec: skeletons, scripts, inputs (no reference, no expected/)."""
    from grader.handout import write_template

    written = write_template(out_dir=out_dir, inputs_dir=inputs_dir, spec_path=spec_path)
    click.echo(f"wrote the student template ({len(written)} files) to {out_dir}")


from grader.platforms.cli import autograder  # noqa: E402  (last: it uses reports_errors above)

main.add_command(export)  # grader/course/cli.py
main.add_command(diff)
main.add_command(merge)  # grader/batch/cli.py
main.add_command(autograder)  # grader/platforms/cli.py
