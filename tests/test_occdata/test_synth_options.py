"""Every `occreid synth` option combination either renders a dataset or fails with one line
(property tests: the plan over wide option ranges, the CLI with a few tiny real renders)."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from occreid.cli.main import main
from occreid.common.errors import OccreidError
from occreid.occdata.synth import SynthConfig
from occreid.occdata.synth.plan import draw_plan

# the same examples on every run and machine, nothing written into the repository
SAME_EACH_RUN = settings(deadline=None, derandomize=True, database=None)
WIDE = {  # valid and invalid values of every option
    "ids": st.integers(-2, 40),
    "distractors": st.integers(-2, 6),
    "cameras": st.integers(-1, 10),
    "min_frames": st.integers(-1, 6),
    "max_frames": st.integers(-1, 6),
    "height": st.integers(-16, 256),
    "width": st.integers(-16, 128) | st.integers(-1, 16).map(lambda k: 8 * k),
    "group_size": st.integers(-1, 5),
    "occluded_tracklets": st.floats(-0.5, 1.5),
    "seed": st.integers(-3, 2**40),
}
DOMAIN = {  # what synth promises to render
    "ids": st.integers(4, 40),
    "distractors": st.integers(0, 6),
    "cameras": st.integers(2, 10),
    "min_frames": st.integers(1, 6),
    "height": st.integers(16, 256),
    "width": st.integers(1, 16).map(lambda k: 8 * k),
    "group_size": st.integers(1, 5),
    "occluded_tracklets": st.floats(0, 1),
    "seed": st.integers(0, 2**40),
}


@st.composite
def _domain(draw: st.DrawFn) -> dict[str, Any]:
    options = draw(st.fixed_dictionaries(DOMAIN))
    return {**options, "max_frames": options["min_frames"] + draw(st.integers(0, 4))}


def _check_plan(cfg: SynthConfig) -> None:
    """The plan DukeMTMC-VideoReID's layout asks for, whatever the options."""
    tracklets = draw_plan(cfg).tracklets
    assert all(1 <= t.cam <= cfg.cameras for t in tracklets)
    assert all(cfg.min_frames <= t.length <= cfg.max_frames for t in tracklets)
    by_split: dict[str, dict[int, list[int]]] = {"train": {}, "query": {}, "gallery": {}}
    for t in tracklets:
        by_split[t.split].setdefault(t.pid, []).append(t.cam)
    train, query, gallery = by_split["train"], by_split["query"], by_split["gallery"]
    assert len(train) == cfg.ids // 2 and len(query) == cfg.ids - cfg.ids // 2
    assert all(len(cams) >= 2 and len(set(cams)) == len(cams) for cams in train.values())
    assert not train.keys() & gallery.keys() and query.keys() <= gallery.keys()
    for pid, (cam,) in query.items():
        assert gallery[pid] == [cam] or cam not in gallery[pid]
    distractors = gallery.keys() - query.keys()
    assert len(distractors) == cfg.distractors
    assert all(len(gallery[p]) == 1 for p in distractors)


@settings(SAME_EACH_RUN, max_examples=200)
@given(st.fixed_dictionaries(WIDE))
def test_every_option_combination_plans_or_fails_in_one_line(options: dict[str, Any]) -> None:
    try:
        cfg = SynthConfig(**options)
    except OccreidError as err:
        assert "\n" not in str(err) and str(err).startswith("synth needs "), err
        return
    _check_plan(cfg)


@settings(SAME_EACH_RUN, max_examples=200)
@given(_domain())
@example({**vars(SynthConfig()), "ids": 12, "cameras": 2})
def test_the_promised_options_all_plan(options: dict[str, Any]) -> None:
    _check_plan(SynthConfig(**options))


TINY = {  # the smallest renders
    "--ids": st.sampled_from([4, 5, 7]),
    "--distractors": st.sampled_from([0, 1, 2]),
    "--cameras": st.sampled_from([2, 3, 4]),
    "--min-frames": st.just(1),
    "--max-frames": st.sampled_from([1, 2]),
    "--height": st.sampled_from([16, 40]),
    "--width": st.sampled_from([8, 24]),
    "--occluded-tracklets": st.sampled_from([1.0, 0.5, 0.0]),
    "--seed": st.integers(0, 2**40),
}
BAD = [  # one wrong option at a time (the plan test above tries them together)
    ("--ids", 3),
    ("--distractors", -1),
    ("--cameras", 1),
    ("--min-frames", 0),
    ("--min-frames", 3),
    ("--height", 15),
    ("--width", 12),
    ("--width", 0),
    ("--occluded-tracklets", 1.5),
    ("--seed", -1),
]


@st.composite
def _cli_options(draw: st.DrawFn) -> dict[str, Any]:
    options = draw(st.fixed_dictionaries(TINY))
    bad = draw(st.none() | st.sampled_from(BAD))
    return options if bad is None else {**options, bad[0]: bad[1]}


@settings(SAME_EACH_RUN, max_examples=25)
@given(_cli_options())
@example({"--ids": 12, "--cameras": 2})  # the command, at full size
def test_synth_command_renders_or_prints_one_error_line(options: dict[str, Any]) -> None:
    args = [str(a) for kv in options.items() for a in kv]
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "toy"
        result = CliRunner().invoke(main, ["synth", str(dest), *args])
        assert isinstance(result.exception, SystemExit | None), result.exception
        if result.exit_code:
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: synth needs "), lines
            assert not dest.exists()
            return
        annotations = pd.read_csv(dest / "annotations.csv")
        splits = Counter(annotations["path"].str.split("/").str[0])
        assert {"train", "query", "gallery"} <= splits.keys()
        assert f"train {splits['train']:,} frames" in result.output
