"""The `cnngrade` command: thin click commands over the library; errors rendered in one place.

Exit codes: 0 graded (whatever the score), 1 grading could not run (bad spec, stale or missing
expected/, unreadable ROOT), 2 usage error, 3 `check --strict` without full marks.
"""
import functools
import sys

import click
from click.core import ParameterSource

from grader import __version__
from grader.batch.cli import merge, shard_option, shard_summary
from grader.course.cli import diff, export, in_course
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
        except OSError as e:  # reading or writing the operator's own files: still one line
            if debug:
                raise
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"cnngrade: error: {where}{e.strerror or e}", err=True)
            sys.exit(EXIT_CANNOT_RUN)

    return click.option("--debug", is_flag=True, help="Show a traceback on errors.")(wrapper)


# Paths not given come from the course folder (in_course, grader/course/folder.py); the defaults
# shown are those outside one.
spec_option = click.option("--spec", "spec_path", default="assignment.toml",
                           type=click.Path(dir_okay=False),
                           help="The assignment spec [default: the course's].")
inputs_option = click.option("--inputs", "inputs_dir", default="input_files",
                             type=click.Path(file_okay=False),
                             help="The fixed input files [default: the course's].")

time_limit_option = click.option("--time-limit", "seconds", default=None,
                                 type=click.FloatRange(min=0, min_open=True),
                                 help="Seconds allowed per submission [default: 60].")
roster_option = click.option("--roster", "roster_path", type=click.Path(dir_okay=False),
                             help="The class list (Canvas gradebook export, Moodle grading "
                                  "worksheet, or a CSV with id, name, email) [default: the "
                                  "course's].")
secret_option = click.option("--secret", "secret_path", type=click.Path(dir_okay=False),
                             help="Per-student inputs: the course secret's file (32+ random "
                                  "bytes; never hand it out). Needs --roster.")


def per_student(roster_path, secret_path, roster_alone=False):
    """Whether to work per student (--secret given, with its --roster). ``roster_alone``: the
    command has a use for --roster without --secret (batch: the class list)."""
    if secret_path is not None and roster_path is None:
        raise click.UsageError("--secret needs --roster: the students whose inputs it makes")
    if roster_path is not None and secret_path is None and not roster_alone:
        raise click.UsageError("--roster here needs --secret (per-student inputs)")
    return secret_path is not None


# Each command's line in `cnngrade --help`, in the order a course uses them.
SUMMARIES = {
    "inputs": "Generate the fixed input files; --audit says what they catch.",
    "expected": "Compute the expected outputs (reference) and their manifest.",
    "template": "Write the student hand-out: skeletons, scripts, no answers.",
    "autograder": "Build a Gradescope autograder zip or a PrairieLearn question.",
    "check": "Grade one submission; without expected/, a self-check.",
    "batch": "Grade a class: results, gradebook, report, feedback pages.",
    "diff": "Show which students a regrade changed, and how.",
    "export": "Write the grades as a Canvas or Moodle gradebook import file.",
    "merge": "Merge the parts of a sharded batch into one class's files.",
}

EPILOG = """\b
A term, in commands (from the course folder):
  cnngrade inputs --audit            the inputs catch the catalogued mistakes?
  cnngrade inputs && cnngrade expected
  cnngrade template --out handout    give students the hand-out
  cnngrade autograder gradescope --out autograder.zip
  cnngrade batch submissions --out grades
  cnngrade export canvas grades --out canvas.csv

\b
Exit codes: 0 graded (whatever the score); 1 grading could not run (bad spec,
stale or missing expected/, unreadable ROOT); 2 usage error; 3 check --strict
without full marks. --debug on any command shows a traceback instead of one line.
"""


class CourseOrder(click.Group):
    """Lists the commands in the order a course uses them, each with its one-line summary."""

    def list_commands(self, ctx):
        known = [name for name in SUMMARIES if name in self.commands]
        return known + sorted(set(self.commands) - set(known))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None and name in SUMMARIES:
            command.short_help = SUMMARIES[name]
        return command


@click.group(cls=CourseOrder, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnngrade")
def main():
    """Autograder for the build-a-CNN-from-its-layers assignment: instructors generate inputs and
    expected outputs, students self-check, graders score a class into a gradebook and reports."""


@main.command()
@spec_option
@click.option("--out", "out_dir", default="input_files", type=click.Path(file_okay=False),
              help="Where to write the input files [default: the course's input_files; with "
                   "--secret, one folder per student inside it].")
@click.option("--audit", is_flag=True,
              help="Write nothing; print which catalogued mistakes the spec's inputs can catch.")
@roster_option
@secret_option
@reports_errors
@in_course(spec_path="spec", out_dir="inputs_out")
def inputs(spec_path, out_dir, audit, roster_path, secret_path):
    """Regenerate the fixed input files from the spec (byte-identical for a given seed).

    With --audit, write nothing and print, for every output, which catalogued mistakes these
    inputs can catch, and a final line "N of M mistakes caught"; exit 0 either way. With --roster
    and --secret, each student's own inputs in OUT/<id>/ (--audit: for the whole roster).
    """
    from grader.assignment.generate import make_inputs, write_inputs
    from grader.assignment.spec import load_spec

    if per_student(roster_path, secret_path):
        from grader.assignment.students import audit_student_inputs, write_student_inputs

        if audit:
            click.echo(audit_student_inputs(spec_path, roster_path, secret_path))
            return
        if click.get_current_context().get_parameter_source("out_dir") in (None, ParameterSource.DEFAULT):
            raise click.UsageError("give --out DIR with --roster: each student's inputs go into "
                                   "DIR/<id>/, never into the course's shared input_files")
        count = write_student_inputs(spec_path, roster_path, secret_path, out_dir)
        click.echo(f"wrote the inputs of {count} students to {out_dir}/<id>/")
        return

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
@click.option("--out", "out_dir", default="expected", type=click.Path(file_okay=False),
              help="Where to write the expected outputs [default: the course's expected].")
@reports_errors
@in_course(spec_path="spec", inputs_dir="inputs", out_dir="expected_out")
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
              help="The expected outputs [default: the course's, if it has them; without them "
                   "only names, counts, format and dropout statistics are checked].")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the result as JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write a feedback page.")
@click.option("--strict", is_flag=True, help="Exit 3 unless the submission has full marks.")
@click.option("--show-expected", is_flag=True,
              help="Instructors: show expected values where outputs differ (never give this to students).")
@time_limit_option
@roster_option
@secret_option
@click.option("--student", help="With --roster and --secret: grade against this student's inputs "
                                "[default: the one SUBMISSION's name is].")
@reports_errors
@in_course(spec_path="spec", inputs_dir="inputs", expected_dir="expected_if_present")
def check(submission, spec_path, inputs_dir, expected_dir, json_path, html_path, strict, show_expected,
          seconds, roster_path, secret_path, student):
    """Grade one SUBMISSION folder or zip and print a table, one row per output."""
    from grader.report.terminal import format_submission

    if per_student(roster_path, secret_path):
        from grader.report.students import format_student_check
        from grader.assignment.students import check_student

        result, _ = check_student(submission, spec_path=spec_path, roster_path=roster_path,
                                  secret_path=secret_path, student=student, json_path=json_path,
                                  html_path=html_path, show_expected=show_expected)
        click.echo(format_submission(result, color=sys.stdout.isatty()))
        if lines := format_student_check(result):
            click.echo(lines)
    else:
        if student is not None:
            raise click.UsageError("--student needs --roster and --secret")
        from grader.pipeline import check_submission

        options = {"seconds": seconds} if seconds else {}
        result, _ = check_submission(submission, spec_path=spec_path, inputs_dir=inputs_dir,
                                     expected_dir=expected_dir, json_path=json_path,
                                     html_path=html_path, show_expected=show_expected, **options)
        click.echo(format_submission(result, color=sys.stdout.isatty()))
    if strict and not result.full_marks:
        sys.exit(EXIT_NOT_FULL_MARKS)


@main.command()
@click.argument("root", type=click.Path(file_okay=False))
@spec_option
@inputs_option
@click.option("--expected", "expected_dir", default="expected", type=click.Path(file_okay=False),
              help="The expected outputs [default: the course's].")
@click.option("--out", "out_dir", default="grades", show_default=True,
              type=click.Path(file_okay=False), help="Where to write results and reports.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: every core].")
@time_limit_option
@roster_option
@click.option("--overrides", "overrides_path", type=click.Path(dir_okay=False),
              help="overrides.csv: student,output,points,reason [default: the course's].")
@secret_option
@shard_option
@reports_errors
@in_course(spec_path="spec", inputs_dir="inputs", expected_dir="expected",
           roster_path="roster", overrides_path="overrides", course_file="config")
def batch(root, spec_path, inputs_dir, expected_dir, out_dir, jobs, seconds, roster_path,
          overrides_path, course_file, secret_path, shard):
    """Grade every submission (sub-folder or zip) under ROOT into a gradebook and reports.

    With a roster, overrides or a late policy ([late] in the spec or cnngrade.toml), each
    student's latest submission is graded under their id and given its final score. With
    --secret too, each against its own student's inputs (--inputs and --expected are not read).
    """
    from grader.course.apply import grade_course
    from grader.course.terminal import describe_class
    from grader.report.terminal import format_batch_summary

    progress = None
    if sys.stderr.isatty():
        def progress(count):
            return click.progressbar(length=count, label="grading", file=sys.stderr)
    options = {"seconds": seconds} if seconds else {}
    if per_student(roster_path, secret_path, roster_alone=True):
        options.update(roster=roster_path, secret=secret_path)
    if shard is not None:
        if roster_path is not None or overrides_path is not None:
            raise click.UsageError("--shard grades a plain class: merge the parts, then apply "
                                   "a roster, overrides or per-student inputs in a single run")
        options.update(shard=shard)
    result = grade_course(root, spec_path=spec_path, inputs_dir=inputs_dir,
                          expected_dir=expected_dir, out_dir=out_dir, jobs=jobs,
                          progress=progress, roster_path=roster_path,
                          overrides_path=overrides_path, course_file=course_file, **options)
    click.echo(shard_summary(result, shard, out_dir) if shard
               else format_batch_summary(result, out_dir))
    for line in describe_class(result) if result.course is not None else ():
        click.echo(line)
    if secret_path is not None:
        from grader.report.students import format_not_on_roster
        from grader.assignment.students import not_on_roster

        if line := format_not_on_roster(not_on_roster(result, roster_path)):
            click.echo(line)
    ungraded = [s.id for s in result.submissions if not s.graded]
    if ungraded:  # the grader failed on them: not a grade to hand out as it is
        click.echo(f"cnngrade: error: {len(ungraded)} submission(s) could not be graded because "
                   f"the grader failed on them: {', '.join(ungraded[:20])}"
                   f"{' ...' if len(ungraded) > 20 else ''}; their gradebook rows are empty; "
                   "grade them again (report the error if it recurs)", err=True)
        sys.exit(EXIT_CANNOT_RUN)


@main.command()
@spec_option
@inputs_option
@click.option("--out", "out_dir", default="handout", show_default=True,
              type=click.Path(file_okay=False), help="A new or empty folder for the hand-out.")
@roster_option
@secret_option
@reports_errors
@in_course(spec_path="spec", inputs_dir="inputs")
def template(out_dir, spec_path, inputs_dir, roster_path, secret_path):
    """Write the student hand-out for the spec: skeletons, scripts, inputs (no reference, no expected/).

    With --roster and --secret, one hand-out per student in OUT/<id>/, with their own inputs.
    """
    if per_student(roster_path, secret_path):
        from grader.assignment.students import write_student_handouts

        count = write_student_handouts(spec_path, roster_path, secret_path, out_dir)
        click.echo(f"wrote {count} student hand-outs to {out_dir}/<id>/")
        return
    from grader.handout import write_template

    written = write_template(out_dir=out_dir, inputs_dir=inputs_dir, spec_path=spec_path)
    click.echo(f"wrote the student template ({len(written)} files) to {out_dir}")


from grader.platforms.cli import autograder  # noqa: E402  (last: it uses reports_errors above)

main.add_command(export)  # grader/course/cli.py
main.add_command(diff)
main.add_command(autograder)  # grader/platforms/cli.py
main.add_command(merge)  # grader/batch/cli.py
