"""`occreid review` at DukeMTMC-VideoReID's size: the store and queue over 5,534 tracklets /
927,268 frames (made from a CSV, given a changed CSV, a decision, an export, the header's
estimate of the unreviewed tags' accuracy: review/quality.py; the header's tables and the export
again after the changed CSV, where the reviewed frames' shown proposals are superseded), and the
page opening a 9,324-frame tracklet (the longest in DukeMTMC-VideoReID) in headless Chromium at
1366x620 (target: under 2 s).

    python benchmarks/review_speed.py --json benchmarks/results/review_speed.json
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import write_json

from occreid.occdata.annotations import file_sha256
from occreid.review.aggregates import LiveTables
from occreid.review.app import ReviewContext, create_app
from occreid.review.export import export
from occreid.review.quality import INNER_EDGES, QualityCache
from occreid.review.queue import header, order_queue
from occreid.review.store import Proposals, ReviewStore

TRACKLETS, FRAMES, LONGEST = 5_534, 927_268, 9_324


def real_size_frames() -> pd.DataFrame:
    """Frame rows shaped like DukeMTMC-VideoReID: 5,534 tracklets, one of 9,324 frames."""
    rng = np.random.default_rng(0)
    sizes = rng.integers(20, 300, TRACKLETS)
    sizes[0] = LONGEST
    sizes = np.round(sizes * (FRAMES - LONGEST) / sizes[1:].sum()).astype(int)
    sizes[0] = LONGEST
    sizes[-1] += FRAMES - sizes.sum()
    split = np.array(["train", "query", "gallery"])[rng.integers(0, 3, TRACKLETS)]
    keys = [f"{s}/{i:04d}/0001" for i, s in enumerate(split)]
    tracklet = np.repeat(keys, sizes)
    frame = np.concatenate([np.arange(n) for n in sizes])
    return pd.DataFrame(
        {
            "path": [f"{t}/{f:05d}.jpg" for t, f in zip(tracklet, frame, strict=True)],
            "tracklet": tracklet,
            "split": np.repeat(split, sizes),
            "pid": np.repeat(np.arange(TRACKLETS), sizes),
            "camid": np.repeat(rng.integers(1, 9, TRACKLETS), sizes),
            "frame": frame,
            "occlusion": rng.integers(0, 11, FRAMES),
            "persons": 1,
            "confidence": rng.random(FRAMES).round(3),
            "reviewed": False,
            "row": np.arange(FRAMES),
        }
    )


def timed(what: str, results: dict[str, float], fn: Any) -> Any:
    """Run ``fn``; record its wall time under ``what`` and its CPU time (this process: the
    store runs in it) under ``what [cpu]``, which the shared machine's load disturbs less."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    results[what] = round(time.perf_counter() - t, 3)
    results[f"{what} [cpu]"] = round(time.process_time() - c, 3)
    print(f"{what:<34}{results[what]:>8.3f} s   cpu {results[what + ' [cpu]']:>7.3f} s")
    return out


def store_timings(work: Path) -> dict[str, float]:
    frames = real_size_frames()
    csv = work / "tags.csv"
    csv.write_text("first run")
    tags = Proposals(csv=csv, sha256=file_sha256(csv), frames=frames)
    r: dict[str, float] = {}
    path = work / "tags.csv.review.sqlite"
    store, _ = timed("create store (927,268 frames)", r, lambda: ReviewStore.open(path, work, tags))
    tracklets = timed("queue: per-tracklet aggregates", r, store.tracklets)
    timed("queue: order", r, lambda: order_queue(tracklets))
    keys = tracklets["key"].iloc[::10].tolist()  # a tenth of the tracklets reviewed (accepted)
    for k in keys:
        store.set_tracklet(k, "accepted", 1, ("a", "bench-accept"), store.version(k))
    timed(
        "header, a tenth reviewed", r, lambda: header(tracklets, store.frames(reviewed_only=True))
    )
    timed("header: aggregates with the counts", r, lambda: store.tracklets(INNER_EDGES))
    live, quality = LiveTables(store, INNER_EDGES), QualityCache()
    tables = timed("header + queue tables, full read", r, live.current)
    timed("header quality, after a write", r, lambda: quality.numbers(tables))
    timed("header quality, unchanged store", r, lambda: quality.numbers(live.current()))
    key = frames["tracklet"].iloc[0]
    version = timed("open the 9,324-frame tracklet", r, lambda: store.tracklet(key))["version"]
    who = ("b", "bench-page")
    timed(
        "label all its frames",
        r,
        lambda: store.set_frames(key, (0, LONGEST - 1), "occlusion", 3, who, version),
    )
    timed("undo that", r, lambda: store.undo(who))
    small = tracklets["key"].iloc[1]
    at = store.version(small)
    timed(
        "a decision (one frame)", r, lambda: store.set_frames(small, (0, 0), "persons", 2, who, at)
    )
    timed("accept a tracklet", r, lambda: store.set_tracklet(small, "accepted", 1, who, at + 1))
    tables = timed("tables, after that", r, live.current)
    timed("header quality, after that", r, lambda: quality.numbers(tables))
    reviewed = tracklets["key"].iloc[10]  # a reviewed tracklet: its frames are in the tables
    at = store.version(reviewed)
    store.set_frames(reviewed, (0, 0), "occlusion", 4, who, at)
    tables = timed("tables, a reviewed frame changed", r, live.current)
    timed("header quality, after that too", r, lambda: quality.numbers(tables))
    timed("export CSV + exclusions", r, lambda: export(store, work / "out.csv"))
    retag = frames.assign(occlusion=(frames["occlusion"] + 1) % 11)  # the tagger ran again
    csv.write_text("second run")
    changed = Proposals(csv=csv, sha256=file_sha256(csv), frames=retag)
    store, _ = timed(
        "a changed CSV (every tag moved)", r, lambda: ReviewStore.open(path, work, changed)
    )
    live = LiveTables(store, INNER_EDGES)  # the reviewed frames' shown proposals are superseded
    timed("tables, full read, after that", r, live.current)
    timed("export, after that", r, lambda: export(store, work / "out.csv"))
    return r


def page_timing(work: Path) -> dict[str, float]:
    """Chromium opening one 9,324-frame tracklet (hard links of one JPEG)."""
    import cv2
    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from occreid.review.source import proposals, source_frames

    root = work / "src"
    folder = root / "gallery" / "0001" / "0001"
    folder.mkdir(parents=True)
    for split in ("train", "query"):
        (root / split).mkdir()
    first = folder / "0001_C1_F0001_X000001.jpg"
    cv2.imwrite(str(first), np.full((128, 64, 3), 128, np.uint8))
    for i in range(2, LONGEST + 1):
        (folder / f"0001_C1_F{i:04d}_X{i:06d}.jpg").hardlink_to(first)
    csv = work / "long.csv"
    _, frames = source_frames(root)
    pd.DataFrame({"path": frames["path"], "occlusion": 0, "persons": 1}).to_csv(csv, index=False)
    store, _ = ReviewStore.open(work / "long.sqlite", root, proposals(frames, csv))
    app = create_app(ReviewContext(root, store, "bench", port=8798))
    server = uvicorn.Server(uvicorn.Config(app, port=8798, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_window_size(1366, 620)
    try:
        t = time.perf_counter()
        driver.get("http://127.0.0.1:8798/")
        WebDriverWait(driver, 60).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
        )
        wall = time.perf_counter() - t
        opened = (
            float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-open-ms")) / 1000
        )
        loaded = driver.execute_script(
            "return [...document.querySelectorAll('#strip img')]"
            ".filter(i => i.complete && i.naturalWidth).length"
        )
    finally:
        driver.quit()
        server.should_exit = True
    print(
        f"{'page: open 9,324-frame tracklet':<34}{opened:>8.3f} s  "
        f"(page load to ready {wall:.2f} s, "
        f"{loaded} thumbnails loaded: the rest load as they scroll into view)"
    )
    return {
        "open_longest_tracklet_s": round(opened, 3),
        "page_ready_s": round(wall, 3),
        "thumbnails_loaded_at_open": int(loaded),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    p.add_argument("--no-browser", action="store_true")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        results: dict[str, Any] = {"store": store_timings(work)}
        if not args.no_browser and shutil.which("chromedriver"):
            results["page"] = page_timing(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        write_json(args.json, results)
        print(f"-> {args.json}")


if __name__ == "__main__":
    main()
