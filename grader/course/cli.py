"""`cnngrade export` and `cnngrade diff`: thin click commands over export.py and diff.py; and
``in_course``, which gives every command the course folder's files (folder.py).

grader/cli.py registers the commands (``main.add_command``); errors are rendered by its
``reports_errors``, looked up when a command runs because grader/cli.py imports this module.
"""
import functools

import click
from click.core import ParameterSource

course_option = click.option(
    "--course", "course_dir", type=click.Path(file_okay=False),
    help="The course folder [default: the nearest folder, here or above, with cnngrade.toml or "
         "assignment.toml; outside one, cnngrade's default assignment].")


def in_course(**roles):
    """Stack ``--course`` on a command and fill the path options the command line did not give
    from the course folder (grader/course/folder.py). ``roles`` maps each keyword to its course
    file (``spec_path="spec"``, see folder.ROLES); a keyword that is no option of the command
    (``course_file="config"``) is passed to it as well. Place it under ``reports_errors``."""

    def decorate(command):
        @functools.wraps(command)
        def run(*args, course_dir=None, **kwargs):
            from grader.course.folder import course_paths

            context = click.get_current_context()
            given = {key: kwargs[key] for key in roles if key in kwargs
                     and context.get_parameter_source(key) not in (None, ParameterSource.DEFAULT)}
            chosen = course_paths(roles, given, {key: kwargs.get(key) for key in roles},
                                  course_dir=course_dir)
            for notice in chosen.notices:
                click.echo(f"cnngrade: {notice}", err=True)
            return command(*args, **{**kwargs, **chosen.values})

        return course_option(run)

    return decorate


def reports_errors(command):
    """grader.cli.reports_errors around ``command``: one place turns a GraderError into a line
    and exit code 1 (tracebacks with --debug)."""

    @functools.wraps(command)
    def run(*args, debug=False, **kwargs):
        from grader import cli

        return cli.reports_errors(command)(*args, debug=debug, **kwargs)

    return click.option("--debug", is_flag=True, help="Show a traceback on errors.")(run)


@click.command()
@click.argument("lms", type=click.Choice(["canvas", "moodle"]))
@click.argument("grades_dir", type=click.Path(exists=True))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The CSV file to write for the LMS's gradebook import.")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False),
              help="The class list (Canvas gradebook export, Moodle grading worksheet, or a CSV "
                   "with id, name, email): one row per student, 0 for no submission.")
@click.option("--assignment", "title", help="The assignment's name in the LMS [default: the spec's].")
@click.option("--assignment-id", type=click.IntRange(min=1),
              help="Canvas: the assignment's id (the number in its URL), so Canvas updates it "
                   "instead of matching the name.")
@click.option("--identifier", type=click.Choice(["sis_user_id", "sis_login_id", "idnumber", "email",
                                                 "username"]),
              help="Canvas without a roster: the column the ids go in [sis_user_id]. Moodle: the "
                   "user field students are matched by [idnumber].")
@reports_errors
@in_course(roster_path="roster")
def export(lms, grades_dir, out_path, roster_path, title, assignment_id, identifier):
    """Write GRADES_DIR's scores as an LMS gradebook import file (LMS: canvas or moodle)."""
    from grader.course.export import describe, export_grades

    summary = export_grades(lms, grades_dir, out_path, roster_path=roster_path, title=title,
                            assignment_id=assignment_id, identifier=identifier)
    for line in describe(summary):
        click.echo(line)


@click.command()
@click.argument("old", type=click.Path(exists=True))
@click.argument("new", type=click.Path(exists=True))
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write the diff as an HTML page.")
@reports_errors
def diff(old, new, html_path):
    """Show which students a regrade changed: OLD and NEW are grade folders or results.json files."""
    from grader.course.diff import diff_runs, format_diff, write_diff_html

    runs = diff_runs(old, new)
    click.echo(format_diff(runs))
    if html_path:
        write_diff_html(html_path, runs)
        click.echo(f"\nwrote {html_path}")
