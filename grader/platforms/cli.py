"""`cnngrade autograder`: build a grader for a course platform (thin commands over ``build``)."""
import click

from grader.cli import reports_errors

spec_option = click.option("--spec", "spec_path", default="assignment.toml", show_default=True,
                           type=click.Path(dir_okay=False), help="The assignment spec.")
inputs_option = click.option("--inputs", "inputs_dir", default="input_files", show_default=True,
                             type=click.Path(file_okay=False), help="The fixed input files.")
expected_option = click.option("--expected", "expected_dir", default="expected", show_default=True,
                               type=click.Path(file_okay=False), help="The expected outputs.")
wheel_option = click.option("--wheel", "wheel", default=None, type=click.Path(dir_okay=False),
                            help="Ship this cnngrade wheel [default: build one from this checkout].")


@click.group()
def autograder():
    """Build a grader for a course platform: a Gradescope autograder zip or a PrairieLearn question."""


@autograder.command()
@spec_option
@inputs_option
@expected_option
@click.option("--out", "out", default="autograder.zip", show_default=True,
              type=click.Path(dir_okay=False), help="The autograder zip to write.")
@wheel_option
@reports_errors
def gradescope(spec_path, inputs_dir, expected_dir, out, wheel):
    """Write the Gradescope autograder zip: setup.sh, run_autograder, the spec, inputs, expected
    outputs and cnngrade. Upload it on the assignment's Configure Autograder page."""
    from grader.platforms.build import build_gradescope

    path = build_gradescope(spec_path, inputs_dir, expected_dir, out, wheel=wheel)
    click.echo(f"wrote the Gradescope autograder to {path}")


@autograder.command()
@spec_option
@inputs_option
@expected_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="A new or empty folder for the question, e.g. questions/cnn_layers of a course.")
@wheel_option
@reports_errors
def prairielearn(spec_path, inputs_dir, expected_dir, out, wheel):
    """Write a PrairieLearn question folder: info.json, question.html and tests/ (the external
    grader for the prairielearn/grader-python image, with cnngrade inside)."""
    from grader.platforms.build import build_prairielearn

    path = build_prairielearn(spec_path, inputs_dir, expected_dir, out, wheel=wheel)
    click.echo(f"wrote the PrairieLearn question to {path}")
