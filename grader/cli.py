"""The `cnngrade` command: thin click commands over the library; errors rendered in one place.

Exit codes: 0 graded (whatever the score), 1 grading could not run (bad spec, stale or missing
expected/, unreadable ROOT), 2 usage error, 3 `check --strict` without full marks.
"""
import functools
import sys

import click

from . import __version__
from .errors import GraderError

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
@reports_errors
def inputs(spec_path, out_dir):
    """Regenerate the fixed input files from the spec (byte-identical for a given seed)."""
    from .generate import write_inputs
    from .spec import load_spec

    paths = write_inputs(load_spec(spec_path), out_dir)
    click.echo(f"wrote {len(paths)} input files to {out_dir}")


@main.command()
@spec_option
@inputs_option
@click.option("--out", "out_dir", default="expected", show_default=True,
              type=click.Path(file_okay=False), help="Where to write the expected outputs.")
@reports_errors
def expected(spec_path, inputs_dir, out_dir):
    """Compute the reference's expected outputs for the inputs, with a manifest."""
    from .generate import write_expected
    from .spec import load_spec

    manifest = write_expected(load_spec(spec_path), inputs_dir, out_dir)
    click.echo(f"wrote {len(manifest['outputs'])} expected outputs and manifest.json to {out_dir}")


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@spec_option
@inputs_option
@reports_errors
def template(out_dir, spec_path, inputs_dir):
    """Write the student hand-out to OUT_DIR: layer skeletons, scripts, input files and spec."""
    from .template import write_template

    written = write_template(out_dir=out_dir, inputs_dir=inputs_dir, spec_path=spec_path)
    click.echo(f"wrote the student template ({len(written)} files) to {out_dir}")
