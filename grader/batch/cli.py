"""`cnngrade merge` and the `--shard I/N` option of `cnngrade batch`: thin click pieces over
grader/batch/shards.py. grader/cli.py registers them; errors are rendered by its
``reports_errors``, as for grader/course/cli.py's commands.
"""
import click

from grader.course.cli import reports_errors


class ShardParam(click.ParamType):
    """``I/N`` on the command line, a batch.shards.Shard in the code."""

    name = "I/N"

    def convert(self, value, param, ctx):
        from grader.batch.shards import Shard

        if isinstance(value, Shard):
            return value
        try:
            return Shard.parse(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


shard_option = click.option(
    "--shard", type=ShardParam(), default=None,
    help="Grade only slice I of N (0 <= I < N; contiguous blocks in id order) and write a part "
         "for `cnngrade merge` into --out (docs/sharding.md).")


def shard_summary(batch, shard, out_dir):
    """The line that ends `cnngrade batch --shard`."""
    return (f"graded shard {shard}: {len(batch.submissions)} submissions into {out_dir}; merge "
            f"the {shard.count} shards with `cnngrade merge PARTS... --out DIR`")


@click.command()
@click.argument("parts", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--spec", "spec_path", default="assignment.toml", show_default=True,
              type=click.Path(dir_okay=False), help="The assignment spec the shards used.")
@click.option("--inputs", "inputs_dir", default="input_files", show_default=True,
              type=click.Path(file_okay=False), help="The fixed input files.")
@click.option("--expected", "expected_dir", default="expected", show_default=True,
              type=click.Path(file_okay=False), help="The expected outputs the shards used.")
@click.option("--out", "out_dir", default="grades", show_default=True,
              type=click.Path(file_okay=False), help="Where to write results and reports.")
@reports_errors
def merge(parts, spec_path, inputs_dir, expected_dir, out_dir):
    """Merge the folders of `cnngrade batch --shard I/N` (every I of one N) into one class's
    results.json, gradebook.csv, report.html and feedback pages, with flags across shards."""
    from grader.batch.shards import merge_shards
    from grader.report.terminal import format_batch_summary

    result = merge_shards(parts, spec_path=spec_path, inputs_dir=inputs_dir,
                          expected_dir=expected_dir, out_dir=out_dir)
    click.echo(format_batch_summary(result, out_dir))
