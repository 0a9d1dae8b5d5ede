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


@pytest.mark.parametrize(
    ("command", "option"), [("tag-occlusion", "--out"), ("review", "--annotations")]
)
def test_the_options_that_write_or_read_a_calibration_s_check_name_it(
    command: str, option: str
) -> None:
    text = CliRunner().invoke(main, [command, "--help"]).output
    described = " ".join(text.split(f"  {option}", 1)[1].split("\n  --", 1)[0].split())
    assert ".calibration.check.csv" in described


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
    r = runner.invoke(main, ["stats", str(out), "--annotations", str(src / "annotations.csv")])
    assert r.exit_code == 1 and "--annotations is for an image folder" in r.output  # not ignored
    assert r.output.strip().count("\n") == 0 and "build again" in r.output
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
    assert "query/ gallery/ are missing" in r.output
    r = CliRunner().invoke(main, ["stats", str(tmp_path)])
    assert r.exit_code != 0 and "build-dataset" in r.output


def test_demo(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main, ["demo", str(tmp_path / "demo"), "--ids", "8", "--backend", "oracle"]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "demo" / "dataset" / "reports" / "stats.html").is_file()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_demo_runs_the_chain_into_one_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = CliRunner().invoke(
        main, ["demo", str(out), "--ids", "12", "--backend", "oracle", "--epochs", "1"]
    )
    assert r.exit_code == 0, r.output
    assert "baseline: mAP" in r.output and "RFCnet: mAP" in r.output
    page = (out / "report.html").read_text()
    assert "Does RFCnet lead on the toy data?" in page and "were not benchmarked" in page
    assert "The toy benchmark shows" in r.output
    for text in ("baseline", "RFCnet", "resnet18", "Training curves", "Table 3", "data:image/png"):
        assert text in page, text
    results = json.loads((out / "results.json").read_text())["results"]
    assert set(results) == {"baseline", "RFCnet"}
    assert all(0 <= r["mAP"] <= 1 for r in results.values())


def _train(tmp_path: Path, *options: str):
    """`occreid train` on an empty folder: with a --config, only option and config errors can
    happen before the root is read (without one, the root picks the default config first)."""
    args = ["train", "--dataset", str(tmp_path), "--out", str(tmp_path / "run"), *options]
    return CliRunner().invoke(main, args)


def test_train_with_an_unknown_key_is_a_one_line_error(tmp_path: Path) -> None:
    r = _train(tmp_path, "--config", "rfcnet_video", "--set", "optim.learning_rate=1")
    assert r.exit_code != 0
    assert r.output.strip().splitlines()[-1].startswith("Error:")
    assert "optim.learning_rate" in r.output and not (tmp_path / "run").exists()


def test_train_takes_a_packaged_config_by_name(tmp_path: Path) -> None:
    r = _train(tmp_path, "--config", "ablations/video/nosuch")
    assert r.exit_code != 0 and "did you mean ablations/video/srfc" in r.output
    assert "`occreid configs` lists them all" in r.output


def test_evaluate_refuses_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    r = CliRunner().invoke(
        main, ["evaluate", "--checkpoint", str(bogus), "--dataset", str(tmp_path)]
    )
    assert r.exit_code != 0 and "cannot read this checkpoint" in r.output


def _library_defaults() -> dict[str, dict[str, object]]:
    """Every CLI option's default as the library declares it, per command."""
    import dataclasses

    from occreid.engine.options import DemoOptions, EvalOptions
    from occreid.occdata.build import BuildOptions
    from occreid.occdata.resplit import QueryPolicy
    from occreid.occdata.synth import SynthConfig
    from occreid.pseudolabel.runner import RunOptions
    from occreid.review.options import ReviewOptions

    def fields(cls: type, **renamed: str) -> dict[str, object]:
        out = {f.name: f.default for f in dataclasses.fields(cls)}
        return out | {cli: out[lib] for cli, lib in renamed.items()}

    query = fields(QueryPolicy, min_query_frames="min_frames", max_query_frames="max_frames")
    return {
        "synth": fields(SynthConfig),
        "build-dataset": {**fields(BuildOptions), **query},
        "pseudolabel": fields(RunOptions),
        "tag-occlusion": {},
        "calibrate": {},
        "review": fields(ReviewOptions),
        "evaluate": fields(EvalOptions),
        "demo": fields(DemoOptions),
        "train": {},
        "stats": {},
        "configs": {},
    }


def test_every_cli_default_is_the_library_default() -> None:
    library = _library_defaults()
    assert set(library) == set(main.commands)
    compared = 0
    for name, command in main.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option) or (param.is_flag and not param.secondary_opts):
                continue
            unset = getattr(click.core, "UNSET", None)  # click >= 8.2: no default given
            if param.required or param.default is None or param.default is unset:
                continue  # no default: required, or the library decides (the backend's)
            assert param.name in library[name], f"{name} --{param.name}: no library default"
            assert param.default == library[name][param.name], f"{name} --{param.name}"
            compared += 1
    assert compared >= 20


def test_backend_choices_come_from_the_backend_table() -> None:
    from occreid.pseudolabel.backends import BACKENDS

    options = {p.name: p for p in main.commands["pseudolabel"].params}
    assert list(options["pose"].type.choices) == list(BACKENDS["pose"])
    assert list(options["parsing"].type.choices) == list(BACKENDS["parsing"])


@pytest.mark.slow
def test_the_gpu_suite_runs_end_to_end_in_quick_cpu_mode(tmp_path: Path) -> None:
    import subprocess
    import sys

    suite = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_suite.py"
    done = subprocess.run(
        [sys.executable, str(suite), str(tmp_path / "out"), "--device", "cpu", "--quick"],
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "TQDM_DISABLE": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:]
    result = json.loads((tmp_path / "out" / "suite.json").read_text())
    assert result["failed"] == [] and result["toy_training"]["steps"] == 10
    assert {"train_speed", "eval_speed", "model_cost", "pseudolabel_speed"} <= set(result)
    assert "RFC step overhead" in (tmp_path / "out" / "summary.md").read_text()
