import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occreid.common.errors import OccreidError
from occreid.pseudolabel.cache import LabelCache, finished_shards
from occreid.pseudolabel.runner import RunOptions, run


@pytest.fixture(scope="session")
def labels(toy_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labels") / "cache"
    run(RunOptions(root=toy_source, out=out, shard_frames=128, batch_size=16, workers=2))
    return out


def test_oracle_labels_match_the_ground_truth(toy_source: Path, labels: Path) -> None:
    cache = LabelCache(labels)
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    kp = np.load(toy_source / "groundtruth" / "keypoints.npy")
    assert len(cache.index) == len(gt) and cache.index["ok"].all()
    row = 37
    frame = cache.frame(gt["path"].iloc[row])
    assert np.allclose(frame["keypoints"][:, :2], kp[row, :, :2], atol=0.1)  # float16 pixels
    assert np.array_equal(frame["keypoints"][:, 2] > 0, kp[row, :, 2] > 0)
    # the cached 64x32 mask is the ground-truth visible mask at half resolution
    full = np.unpackbits(np.load(toy_source / "groundtruth" / "masks.npy")[row], axis=1)
    assert abs(frame["mask"].mean() - full.mean()) < 0.02
    assert frame["persons"] == gt["persons"].iloc[row]
    meta = json.loads((labels / "meta.json").read_text())
    assert meta["backends"]["pose"]["name"] == "oracle" and meta["complete"]


def test_tracklet_and_gather_agree_with_frame(labels: Path) -> None:
    cache = LabelCache(labels)
    key = cache.index["tracklet"].iloc[200]
    t = cache.tracklet(key)
    paths = cache.index.loc[cache.index["tracklet"] == key, "path"].tolist()
    assert len(t["apu"]) == len(paths)
    one = cache.frame(paths[-1])
    assert np.allclose(t["apu"][-1], one["apu"]) and np.allclose(
        t["keypoints"][-1], one["keypoints"]
    )
    with pytest.raises(OccreidError, match="no labels for"):
        cache.frame("train/9999/0001/x.jpg")


def test_tags_agree_with_the_ground_truth(toy_source: Path, labels: Path) -> None:
    gt = pd.read_csv(toy_source / "annotations.csv").set_index("path")
    tags = pd.read_csv(labels / "occlusion.csv").set_index("path").loc[gt.index]
    occ_gt = (gt["occlusion"] > 0) | (gt["persons"] > 1)
    occ_tag = (tags["occlusion"] > 0) | (tags["persons"] > 1)
    assert (occ_gt == occ_tag).mean() > 0.93
    assert (gt["occlusion"] - tags["occlusion"]).abs().mean() < 0.3
    assert tags["confidence"].between(0, 1).all()


def test_the_tags_go_straight_into_build_dataset(toy_source: Path, labels: Path, tmp_path) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.occdata.manifest import read_manifest

    out = tmp_path / "ds"
    build_dataset(BuildOptions(source=toy_source, out=out, annotations=labels / "occlusion.csv"))
    gallery = read_manifest(out / "manifests" / "gallery.parquet")
    assert gallery["confidence"].between(0, 1).all()  # the optional column is kept


def test_unreadable_frames_are_reported(toy_source: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(toy_source, src)
    victim = pd.read_csv(src / "annotations.csv")["path"].iloc[3]
    (src / victim).write_bytes(b"")
    run(RunOptions(root=src, out=tmp_path / "labels", shard_frames=256))
    report = json.loads((tmp_path / "labels" / "report.json").read_text())
    assert report["unreadable_frames"] == [victim]
    assert not LabelCache(tmp_path / "labels").frame(victim)["ok"]
    with pytest.raises(OccreidError, match="already exists; pass --resume"):
        run(RunOptions(root=src, out=tmp_path / "labels"))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "occreid.cli", *args]


def test_killed_run_resumes_to_identical_labels(
    toy_source: Path, labels: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    args = _cli(
        "pseudolabel",
        str(toy_source),
        "--out",
        str(out),
        "--shard-frames",
        "16",
        "--batch-size",
        "4",
    )
    proc = subprocess.Popen(args, env=env)
    deadline = time.time() + 60
    while len(finished_shards(out)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_plan = int(pd.read_parquet(out / "plan.parquet")["shard"].max()) + 1
    assert 0 < len(finished_shards(out)) < n_plan, "the kill should land mid-run"
    with pytest.raises(OccreidError, match="did not finish"):
        LabelCache(out)
    subprocess.run([*args, "--resume"], env=env, check=True)
    resumed, whole = LabelCache(out), LabelCache(labels)
    paths = whole.index["path"].tolist()
    a, b = resumed.gather(paths), whole.gather(paths)
    for key in ("keypoints", "apu", "mask", "persons", "ok"):
        assert np.array_equal(a[key], b[key]), key
    assert not list((out / "shards").glob(".*"))  # no temporary shard left


@pytest.mark.dist
def test_torchrun_two_ranks_split_and_merge(toy_source: Path, labels: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "occreid.cli",
            "pseudolabel",
            str(toy_source),
            "--out",
            str(out),
            "--shard-frames",
            "64",
        ],
        env=env,
        check=True,
    )
    dist, whole = LabelCache(out), LabelCache(labels)
    paths = whole.index["path"].tolist()
    assert np.array_equal(dist.gather(paths)["apu"], whole.gather(paths)["apu"])
    assert (out / "occlusion.csv").is_file()


def test_labels_only_the_frames_of_a_built_dataset(toy_source: Path, tmp_path: Path) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset

    ds = tmp_path / "ds"
    ex = tmp_path / "ex.txt"
    first_train = sorted(p.parent for p in (toy_source / "train").glob("*/*/*.jpg"))[0]
    ex.write_text("/".join(first_train.parts[-3:]) + "\n")
    build_dataset(
        BuildOptions(
            source=toy_source, out=ds, annotations=toy_source / "annotations.csv", exclude=ex
        )
    )
    run(RunOptions(root=ds, out=tmp_path / "labels"))
    from occreid.occdata.manifest import read_manifest

    cache = LabelCache(tmp_path / "labels")
    manifests = [
        read_manifest(ds / "manifests" / f"{s}.parquet") for s in ("train", "query", "gallery")
    ]
    expected = set(pd.concat(manifests)["path"])
    assert set(cache.index["path"]) == expected
    excluded = {"/".join(p.parts[-4:]) for p in first_train.glob("*.jpg")}
    assert excluded and not excluded & set(cache.index["path"])


def test_existing_output_is_refused_before_any_model_is_built(
    toy_source: Path, tmp_path: Path, monkeypatch
) -> None:
    import occreid.pseudolabel.runner as runner

    def no_model(*args, **kwargs):
        raise AssertionError("a backend was built before the output check")

    monkeypatch.setattr(runner, "make_pose", no_model)
    (tmp_path / "labels").mkdir()
    with pytest.raises(OccreidError, match="already exists"):
        run(RunOptions(root=toy_source, out=tmp_path / "labels", pose="mmpose"))


def test_a_misspelled_backend_option_is_an_error_not_dropped(
    toy_source: Path, tmp_path: Path
) -> None:
    opts = RunOptions(
        root=toy_source, out=tmp_path / "labels", parsing_options={"person_clases": (12,)}
    )
    with pytest.raises(OccreidError, match=r"no option 'person_clases'.*takes: root"):
        run(opts)
    assert not (tmp_path / "labels").exists()
    from occreid.pseudolabel.backends import make_pose

    with pytest.raises(OccreidError, match="no option 'complexty'"):
        make_pose("mediapipe", complexty=2)


def test_the_calibration_lies_beside_the_tags_and_sets_the_apu_threshold(labels: Path) -> None:
    from occreid.pseudolabel.calibration import load_calibration

    cal = load_calibration(labels / "occlusion.calibration.json")
    assert (cal.pose, cal.parsing) == ("oracle", "oracle") and cal.seen_score == 0.75
    meta = json.loads((labels / "meta.json").read_text())
    assert meta["threshold"] == cal.seen_score and meta["mask_is_visible_body"]
    assert "SCORE_OF_VISIBILITY" in cal.sources["seen_score"]  # where the number comes from


def test_keypoints_parsing_stores_the_body_the_seen_points_support(
    toy_source: Path, labels: Path, tmp_path: Path
) -> None:
    from occreid.pseudolabel.silhouette import silhouette

    out = tmp_path / "kp"
    run(RunOptions(root=toy_source, out=out, parsing="keypoints", shard_frames=4096))
    cache, oracle = LabelCache(out), LabelCache(labels)
    paths = cache.index["path"].tolist()[:50]
    got, truth = cache.gather(paths), oracle.gather(paths)
    for i in range(len(paths)):
        kp = got["keypoints"][i].astype(np.float32)
        size = (int(cache.index["height"].iloc[i]), int(cache.index["width"].iloc[i]))
        drawn = silhouette(kp, size, cache.mask_size, kp[:, 2] >= 0.75)  # oracle's seen score
        stored = cache.frame(paths[i])["mask"]
        assert (stored != drawn).mean() < 0.01 and stored.any()  # float16 keypoints in the cache
    masks = cache.frame(paths[0])["mask"], oracle.frame(paths[0])["mask"]
    assert (masks[0] & ~masks[1]).sum() <= 0.2 * masks[0].sum()  # little outside the body
    assert json.loads((out / "meta.json").read_text())["backends"]["parsing"]["name"] == "keypoints"
    assert len(got["apu"]) == len(truth["apu"])


def test_a_mask_that_is_not_the_visible_body_is_a_one_line_warning(
    toy_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from occreid.pseudolabel.backends.oracle import OracleParsing

    monkeypatch.setattr(OracleParsing, "mask_is_visible_body", False)
    with pytest.warns(UserWarning, match="not the target's visible body") as caught:
        run(RunOptions(root=toy_source, out=tmp_path / "c", shard_frames=4096))
    message = str(caught[0].message)
    assert "\n" not in message and "--parsing keypoints" in message


def test_labelling_processes_give_the_labels_of_one(
    toy_source: Path, labels: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two"
    report = run(RunOptions(root=toy_source, out=out, shard_frames=512, processes=2))
    assert report["processes"] == 2 and report["frames"] == report["labelled_this_run"]
    assert len(finished_shards(out)) == 2  # each labelled in parts by both processes
    split, whole = LabelCache(out), LabelCache(labels)
    paths = whole.index["path"].tolist()
    a, b = split.gather(paths), whole.gather(paths)
    for key in ("keypoints", "apu", "mask", "persons", "ok"):
        assert np.array_equal(a[key], b[key], equal_nan=True), key
    # the default: one process per core for a pose model that runs on one core, else one
    from occreid.pseudolabel.backends.oracle import OraclePose
    from occreid.pseudolabel.runner import default_processes

    oracle = OraclePose(toy_source)
    assert default_processes(oracle, world=1) == 1
    oracle.one_core = True
    assert default_processes(oracle, world=1) == len(os.sched_getaffinity(0))
    assert default_processes(oracle, world=2) == 1


def _finish_times(parts: list, processes: int) -> list[int]:
    """Each part to the first free process, a frame costing one unit: when each one ends."""
    free = [0] * processes
    for _, _, frames in parts:
        free[free.index(min(free))] += len(frames)
    return free


def test_parts_shrink_so_the_processes_end_together() -> None:
    from occreid.pseudolabel.runner import split_shards

    rng = np.random.default_rng(0)
    tasks, n = [], 0
    for shard in range(3):
        sizes = rng.integers(5, 60, size=40)
        tracklets = np.repeat([f"{shard}-{t:03d}" for t in range(len(sizes))], sizes)
        paths = [f"{t}/{n + i:05d}.jpg" for i, t in enumerate(tracklets)]
        n += len(tracklets)
        tasks.append((shard, pd.DataFrame({"path": paths, "tracklet": tracklets})))
    parts = split_shards(tasks, processes=2)
    # whole tracklets, one shard each, and a shard's parts in order give back its frames
    owner = pd.concat([f.assign(part=k) for _, k, f in parts]).groupby("tracklet")["part"]
    assert (owner.nunique() == 1).all()
    for shard, frames in tasks:
        mine = sorted((k, f) for s, k, f in parts if s == shard)
        assert pd.concat([f for _, f in mine])["path"].tolist() == frames["path"].tolist()
    sizes = [len(f) for _, _, f in parts]
    assert sizes[0] > 5 * max(sizes[-4:])  # large first, small last
    # the two processes end within one tracklet of each other (equal parts would not)
    ends = _finish_times(parts, 2)
    assert max(ends) - min(ends) <= 60


def test_a_labelling_process_ends_when_the_main_process_is_killed(tmp_path: Path) -> None:
    script, pid = tmp_path / "main.py", tmp_path / "child.pid"
    script.write_text(
        "import multiprocessing, os, sys, threading, time\n"
        "from occreid.pseudolabel import runner\n"
        "def work(parent):\n"
        "    threading.Thread(target=runner._end_with, args=(parent,), daemon=True).start()\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    spawn = multiprocessing.get_context('spawn')\n"
        "    child = spawn.Process(target=work, args=(os.getpid(),))\n"
        "    child.start()\n"
        "    time.sleep(1)\n"
        "    open(sys.argv[1], 'w').write(str(child.pid))\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, str(script), str(pid)], stdout=subprocess.DEVNULL)
    child = Path(f"/proc/{pid.read_text()}")
    deadline = time.time() + 10
    while child.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert not child.exists()


def test_an_error_in_a_labelling_process_is_the_run_s_error(
    toy_source: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    shutil.copytree(toy_source, src)
    frame = src / pd.read_csv(src / "annotations.csv")["path"].iloc[-1]
    shutil.copy(frame, frame.with_name(frame.name.replace("_F", "_F9")))  # no ground truth
    with pytest.raises(OccreidError, match="no ground truth for"):
        run(RunOptions(root=src, out=tmp_path / "labels", processes=2))


def test_a_labelling_process_that_cannot_start_fails_the_run(
    toy_source: Path, tmp_path: Path
) -> None:
    """A script without the main-module guard: each spawned process runs the script again and
    dies starting; the run fails instead of waiting for ever."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pathlib import Path\n"
        "from occreid.pseudolabel.runner import RunOptions, run\n"
        f"run(RunOptions(root=Path({str(toy_source)!r}), out=Path({str(tmp_path / 'l')!r}),"
        " processes=2, overwrite=True))\n"
    )
    env = {**os.environ, "TQDM_DISABLE": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "BrokenProcessPool" in done.stderr
