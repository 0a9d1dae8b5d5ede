import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from occreid.cli.main import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
    return out


@pytest.mark.parametrize("args", [(), *_commands(main)])
def test_help_for_every_command(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output) > 200


def test_synth_build_stats_chain(tmp_path: Path) -> None:
    runner = CliRunner()
    src, out = tmp_path / "src", tmp_path / "ds"
    r = runner.invoke(
        main,
        [
            "synth",
            str(src),
            "--ids",
            "8",
            "--distractors",
            "2",
            "--min-frames",
            "6",
            "--max-frames",
            "10",
            "--seed",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    build = [
        "build-dataset",
        str(src),
        "--out",
        str(out),
        "--annotations",
        str(src / "annotations.csv"),
    ]
    r = runner.invoke(main, build)
    assert r.exit_code == 0, r.output
    assert "report:" in r.output
    r = runner.invoke(main, ["stats", str(out)])
    assert r.exit_code == 0 and "Table 1" in r.output and "(paper)" in r.output
    r = runner.invoke(main, ["stats", str(out), "--json"])
    assert set(json.loads(r.output)) == {"table1", "table2", "table3"}
    # an existing output is refused with a one-line error and nothing changes
    before = (out / "manifests" / "query.parquet").read_bytes()
    r = runner.invoke(main, [*build, "--seed", "5"])
    assert r.exit_code != 0
    assert r.output.strip().count("\n") == 0 and "--overwrite" in r.output
    assert (out / "manifests" / "query.parquet").read_bytes() == before


def test_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "root" / "train").mkdir(parents=True)
    csv = tmp_path / "a.csv"
    csv.write_text("path,occlusion,persons\n")
    r = CliRunner().invoke(
        main,
        [
            "build-dataset",
            str(tmp_path / "root"),
            "--out",
            str(tmp_path / "o"),
            "--annotations",
            str(csv),
        ],
    )
    assert r.exit_code != 0
    assert r.output.startswith("Error: ") and r.output.strip().count("\n") == 0
    assert "missing split folder(s) query, gallery" in r.output
    r = CliRunner().invoke(main, ["stats", str(tmp_path)])
    assert r.exit_code != 0 and "build-dataset" in r.output


def test_demo(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main, ["demo", str(tmp_path / "demo"), "--ids", "8", "--backend", "oracle"]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "demo" / "dataset" / "reports" / "stats.html").is_file()
