"""Every hint an error prints works as printed (issue 19): each backticked command or option in
the message is run, with its placeholders (LABELS, DATASET, CSV) filled in, and must succeed.
An error backticks only what is meant to be typed: a whole `occreid ...` command or options to add
to the failed one; a command named only for reference is written without backticks."""

import re
import shlex
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from occreid.cli.main import main

TINY_RUN = ["data.iters_per_epoch=1", "optim.epochs=1", "data.workers=0"]


def _sets(overrides: list[str]) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


def _fails_with_hints(args: list[str]) -> list[str]:
    """Run a command that must fail with a one-line error; its backticked hints."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: ")
    hints = re.findall(r"`([^`]+)`", error)
    assert hints, error
    return hints


def _run_hint(hint: str, args: list[str], filled: dict[str, str]) -> None:
    """A hint is a whole command (occreid ...) or options to add to the failed one."""
    words = [filled.get(w, w) for w in shlex.split(hint)]
    for placeholder, value in filled.items():
        words = [w.replace(f"{placeholder}/", f"{value}/") for w in words]
    if words[0] == "occreid":
        command = words[1:]
    else:
        assert words[0].startswith("--"), f"hint {hint!r} is neither a command nor options"
        command = [*args, *words]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, f"hint {hint!r} failed as printed: {result.output}"


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_the_labels_hint_of_train_works_as_printed(toy_dataset, tiny_overrides, tmp_path):
    dataset, labels = toy_dataset
    overrides = [*tiny_overrides, *TINY_RUN]
    args = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "run")]
    args += ["--config", "demo_rfcnet", *_sets(overrides)]
    hints = _fails_with_hints(args)
    assert "--set loss.keypoint=0 --set loss.foreground=0" in hints
    for i, hint in enumerate(hints):
        args[4] = str(tmp_path / f"run{i}")
        _run_hint(hint, args, {"LABELS": str(labels)})


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_the_mode_hint_of_train_works_as_printed(toy_dataset, tiny_overrides, tmp_path):
    dataset, labels = toy_dataset
    overrides = [o for o in [*tiny_overrides, *TINY_RUN] if not o.startswith("data.test_clip")]
    args = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "run")]
    args += ["--labels", str(labels), *_sets(overrides), "--config", "baseline_image"]
    for hint in _fails_with_hints(args):
        _run_hint(hint, args, {})


def test_the_build_hint_for_a_source_works_as_printed(toy_source, tmp_path):
    args = ["train", "--dataset", str(toy_source), "--out", str(tmp_path / "run")]
    filled = {"DATASET": str(tmp_path / "built"), "CSV": str(toy_source / "annotations.csv")}
    for hint in _fails_with_hints(args):
        _run_hint(hint, args, filled)


def test_the_annotations_hint_of_stats_works_as_printed(image_folder_factory, tmp_path):
    root = image_folder_factory()
    labels = tmp_path / "labels"
    labels.mkdir()
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg"))
    rows = [f"{p},{3 if '_c1' in p else 0},1" for p in paths]
    (labels / "occlusion.csv").write_text("\n".join(["path,occlusion,persons", *rows]) + "\n")
    args = ["stats", str(root)]
    for hint in _fails_with_hints(args):
        _run_hint(hint, args, {"LABELS": str(labels)})
    result = CliRunner().invoke(main, [*args, "--annotations", str(labels / "occlusion.csv")])
    assert "| train | 6 | 3 | 0 | 50.0% | 0.0% |" in result.output


def test_a_misspelt_config_gives_the_closest_names_and_the_listing(toy_dataset, tmp_path):
    dataset, _ = toy_dataset
    args = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, "--config", "rfcnet_vidoe"])
    assert "did you mean rfcnet_video" in result.output
    assert "ablations/video/trfc" not in result.output  # not the whole list
    for hint in _fails_with_hints([*args, "--config", "rfcnet_vidoe"]):
        _run_hint(hint, args, {})
    listing = CliRunner().invoke(main, ["configs"]).output
    shipped = Path(__file__).resolve().parents[2] / "configs"
    names = {p.relative_to(shipped).with_suffix("").as_posix() for p in shipped.rglob("*.yaml")}
    entries = re.split(r"\n(?=\S)", listing.strip())  # wrapped lines start with spaces
    assert {entry.split()[0] for entry in entries} == names
    demo = next(e for e in entries if e.startswith("demo_rfcnet "))
    assert " ".join(demo.split()[1:]).endswith("trains in a few minutes.")  # a whole sentence


@pytest.mark.parametrize(
    ("given", "form"),
    [
        ("model.input_size=128x64", "write a list, e.g. model.input_size=[128,64]"),
        ("model.rfc_stages=3", "model.rfc_stages=[2,3]"),
        ("optim.lr=fast", "write a number, e.g. optim.lr=0.0003"),
        ("optim.epochs=two", "write an integer, e.g. optim.epochs="),
    ],
)
def test_a_wrong_set_value_names_the_expected_form(toy_dataset, tmp_path, given, form):
    dataset, _ = toy_dataset
    args = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "run"), "--set", given]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and form in result.output and given.split("=")[0] in result.output
    assert "Node" not in result.output  # no OmegaConf internals


def test_two_pairs_after_one_set_say_each_needs_its_own(tmp_path):
    args = ["train", "--dataset", str(tmp_path), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, "--set", "model.arch=resnet18", "optim.epochs=2"])
    assert result.exit_code == 2
    assert "one KEY=VALUE per --set, e.g. --set optim.epochs=2" in result.output


def test_warnings_print_as_one_line_without_the_source(monkeypatch):
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # restored after
    assert CliRunner().invoke(main, ["configs"]).exit_code == 0
    line = warnings.formatwarning("backbone trains from scratch", UserWarning, "/x/cli.py", 381)
    assert line == "Warning: backbone trains from scratch\n"
