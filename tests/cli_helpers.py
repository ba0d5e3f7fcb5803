"""Running the `zoo` CLI in-process, and checking the one-line errors it must give."""

from __future__ import annotations

from click.testing import CliRunner, Result

from zoo.cli import cli


def invoke(*args: object) -> Result:
    """Run `zoo ARGS…` in-process; paths and numbers are passed as strings."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit code 2, one `zoo: error: …` line on stderr, no traceback, each fragment in it."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
