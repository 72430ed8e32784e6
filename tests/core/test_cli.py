"""One-line errors and exit code 2 (lyrics_gpt2.cli), and collecting every argument problem."""

from __future__ import annotations

import pytest

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError, first_line


def test_problems_collects_every_message_and_raises_once():
    with pytest.raises(UsageError) as err, Problems() as problems:
        assert problems.require(True, "never shown") is True
        assert problems.require(0, "--a must be > 0") is False
        problems.add("--b is missing")
    assert str(err.value) == "--a must be > 0; --b is missing"


def test_problems_without_any_does_not_raise():
    with Problems() as problems:
        problems.require(1 > 0, "fine")
    assert not problems
    problems.raise_if_any()


def test_an_exception_inside_the_block_is_not_masked():
    with pytest.raises(KeyError), Problems() as problems:
        problems.add("also wrong")
        raise KeyError("first")


def test_run_turns_usage_errors_into_one_line_and_exit_2(capsys):
    def main(argv):
        with Problems() as problems:
            problems.add("--x must be\n  positive")
            problems.add("--y too")

    assert run(main, []) == 2
    assert capsys.readouterr().err == "error: --x must be positive; --y too\n"
    assert run(lambda argv: None, []) == 0


def test_parser_error_is_one_line_and_exit_2(capsys):
    parser = ArgumentParser(prog="prog")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--n", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prog: error:") and "(see --help)" in err


def test_first_line():
    assert first_line(ValueError("one\ntwo")) == "one"
    assert first_line(ValueError("")) == "ValueError"
