"""The `occreid` command group. Commands parse options, call the library and print; heavy imports
stay inside the callbacks so that `occreid --help` is instant."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from occreid.common.errors import OccreidError, user_message
from occreid.common.runtime import DEVICE_HELP
from occreid.engine.options import DEMO_BACKENDS, DemoOptions, EvalOptions, TrainOptions
from occreid.occdata.build import BuildOptions
from occreid.occdata.resplit import QueryPolicy
from occreid.occdata.synth import SynthConfig
from occreid.pseudolabel.backends import ADE20K_PERSON, BACKENDS
from occreid.pseudolabel.runner import RunOptions
from occreid.review.options import MIN_TOKEN, ReviewOptions


def _default(cls: type, name: str) -> Any:
    """The library's default of option ``name`` (a dataclass field): the CLI never types one."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc,operator]


class _Group(click.Group):
    """Turns an OccreidError into click's one-line `Error: ...` and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OccreidError as err:
            raise click.ClickException(user_message(err)) from None
        except click.UsageError as err:
            extra = re.match(r"Got unexpected extra arguments? \((.*)\)", err.message)
            if not (extra and "=" in extra[1]):
                raise
            pairs = " ".join(f"--set {p}" for p in extra[1].split())  # `--set a=1 b=2`
            hint = f"{err.message}; one KEY=VALUE per --set, e.g. {pairs}"
            raise click.UsageError(hint, err.ctx) from None


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="occreid")
def main() -> None:
    """occreid: Occluded-DukeMTMC-VideoReID and RFCnet, from raw frames to a trained model.

    \b
    Stages:
      synth          make a toy dataset in the DukeMTMC-VideoReID layout (with ground truth)
      build-dataset  re-split a DukeMTMC-VideoReID root into Occluded-DukeMTMC-VideoReID
      pseudolabel    cache pose keypoints and person masks for every frame
      tag-occlusion  occlusion labels from the cache, as an annotation CSV
      calibrate      fit the occlusion tags to reviewed labels (LABELS/calibration.json)
      review         confirm and correct the occlusion labels in a browser, then export
      stats          print the statistics of a built dataset or an image folder
      train          train RFCnet (or a baseline / ablation) from a config
      configs        list the packaged training configs
      evaluate       mAP / CMC of a checkpoint, with pictures on request
      demo           run the whole chain on toy data
    """
    warnings.formatwarning = _warning_line


def _warning_line(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> str:
    """A warning as the user reads it: one line, without the source file and line of code."""
    return f"Warning: {message}\n"


_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--ids",
    default=_default(SynthConfig, "ids"),
    show_default=True,
    help="Identities with train / query tracklets (half each).",
)
@click.option(
    "--distractors",
    default=_default(SynthConfig, "distractors"),
    show_default=True,
    help="Gallery-only identities, one camera each.",
)
@click.option(
    "--cameras", default=_default(SynthConfig, "cameras"), show_default=True, help="Cameras."
)
@click.option(
    "--min-frames",
    default=_default(SynthConfig, "min_frames"),
    show_default=True,
    help="Shortest tracklet.",
)
@click.option(
    "--max-frames",
    default=_default(SynthConfig, "max_frames"),
    show_default=True,
    help="Longest tracklet.",
)
@click.option(
    "--height",
    default=_default(SynthConfig, "height"),
    show_default=True,
    help="Frame height in pixels.",
)
@click.option(
    "--width",
    default=_default(SynthConfig, "width"),
    show_default=True,
    help="Frame width in pixels (multiple of 8).",
)
@click.option(
    "--occluded-tracklets",
    default=_default(SynthConfig, "occluded_tracklets"),
    show_default=True,
    help="Share of tracklets that an occluder crosses.",
)
@click.option(
    "--seed",
    default=_default(SynthConfig, "seed"),
    show_default=True,
    help="Random seed; same seed, same dataset.",
)
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def synth(dest: Path, overwrite: bool, **options: Any) -> None:
    """Render a toy DukeMTMC-VideoReID into DEST, with exact ground truth beside the frames.

    Identities come in groups that share head and upper body and differ only below the waist;
    vehicles and low walls hide the legs, poles and trees a vertical strip, other people cross
    the crop. DEST/annotations.csv is ready for `occreid build-dataset`; DEST/groundtruth/ holds
    COCO-17 keypoints, visible person masks, occlusion labels and person counts.
    """
    from occreid.occdata.synth import synthesize

    counts = synthesize(dest, SynthConfig(**options), overwrite=overwrite)
    click.echo(f"wrote {dest}: " + ", ".join(f"{k} {v:,} frames" for k, v in counts.items()))


@main.command("build-dataset")
@click.argument("source", type=_EXISTING_DIR)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (manifests/ and reports/); must not exist unless --overwrite.",
)
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Occlusion CSV: path,occlusion,persons (from synth, tag-occlusion or by hand).",
)
@click.option(
    "--exclude",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Train tracklets to remove, one train/<pid>/<tracklet> per line "
    "(template: occreid/manifests/exclude_template.txt).",
)
@click.option(
    "--seed",
    default=_default(BuildOptions, "seed"),
    show_default=True,
    help="Seed of the query draw.",
)
@click.option(
    "--min-query-frames",
    default=_default(QueryPolicy, "min_frames"),
    show_default=True,
    help="Shortest query sub-tracklet; a shorter source tracklet offers only itself.",
)
@click.option(
    "--max-query-frames",
    default=_default(QueryPolicy, "max_frames"),
    show_default=True,
    help="Longest query sub-tracklet (run length is drawn uniformly in between).",
)
@click.option(
    "--missing-as-unoccluded",
    is_flag=True,
    help="Frames absent from the CSV count as occlusion 0, persons 1 (default: error).",
)
@click.option(
    "--check-images",
    is_flag=True,
    help="Decode every frame and list the unreadable ones in the report (slow).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def build_dataset(
    source: Path,
    out: Path,
    annotations: Path,
    exclude: Path | None,
    seed: int,
    min_query_frames: int,
    max_query_frames: int,
    missing_as_unoccluded: bool,
    check_images: bool,
    overwrite: bool,
) -> None:
    """Build Occluded-DukeMTMC-VideoReID from the DukeMTMC-VideoReID root SOURCE (paper 5.1).

    An image ReID folder (Market-1501 layout) needs no build step: train, evaluate, pseudolabel,
    stats and review take it as it is.

    \b
    train   = source train minus the --exclude tracklets
    gallery = source gallery, whole
    query   = one sub-tracklet per identity: a contiguous run of a source query or gallery
              tracklet with more than 1/3 occluded frames, only where the gallery has the
              identity in another camera; tracklet, length and start drawn with --seed.
    \b
    Writes OUT/manifests/{train,query,gallery}.parquet and OUT/reports/ (stats.json with the
    paper's Tables 1-3, stats.md, stats.html, table1.png, table2.png, build.json). Nothing is
    written if anything fails, and SOURCE is never written to.
    """
    from occreid.occdata.annotations import Missing
    from occreid.occdata.build import build_dataset as build

    opts = BuildOptions(
        source=source,
        out=out,
        annotations=annotations,
        exclude=exclude,
        seed=seed,
        policy=QueryPolicy(min_frames=min_query_frames, max_frames=max_query_frames),
        missing=Missing.UNOCCLUDED if missing_as_unoccluded else Missing.ERROR,
        check_images=check_images,
        overwrite=overwrite,
    )
    stats = build(opts)
    t3 = stats["table3"]
    click.echo(
        f"wrote {out}: "
        + ", ".join(
            f"{s} {t3[s]['ids']} ids / {t3[s]['tracklets']} tracklets / {t3[s]['images']:,} frames"
            for s in ("train", "query", "gallery")
        )
    )
    click.echo(f"report: {out / 'reports' / 'stats.html'}")


@main.command()
@click.argument("root", type=_EXISTING_DIR)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Label cache folder.")
@click.option(
    "--pose",
    default=_default(RunOptions, "pose"),
    show_default=True,
    type=click.Choice(list(BACKENDS["pose"])),
    help="Keypoint backend.",
)
@click.option(
    "--parsing",
    default=_default(RunOptions, "parsing"),
    show_default=True,
    type=click.Choice(list(BACKENDS["parsing"])),
    help="Person-mask backend.",
)
@click.option(
    "--pose-config", help="mmpose: config file (default: RTMPose-m COCO 256x192 from the package)."
)
@click.option(
    "--pose-checkpoint", help="mmpose: checkpoint path or URL (none: random weights, a warning)."
)
@click.option(
    "--parsing-config", help="mmseg: config file (default: SegFormer-B0 ADE20K from the package)."
)
@click.option("--parsing-checkpoint", help="mmseg: checkpoint path or URL.")
@click.option(
    "--detector-config",
    help="mmseg: mmdet config that counts persons (default: RTMDet-tiny COCO from the package).",
)
@click.option("--detector-checkpoint", help="mmseg: the person detector's checkpoint path or URL.")
@click.option(
    "--person-classes",
    help="mmseg: comma-separated class ids that count as person "
    f"(default: {','.join(map(str, ADE20K_PERSON))}, ADE20K's person).",
)
@click.option(
    "--device",
    default=_default(RunOptions, "device"),
    show_default=True,
    help=f"Where the mm models run: {DEVICE_HELP}.",
)
@click.option(
    "--margin",
    default=_default(RunOptions, "margin"),
    show_default=True,
    help="mediapipe: where no pose is found on a crop, try again with this grey margin around "
    "it (share of its height / width on each side; 0: no retry).",
)
@click.option(
    "--tracking/--no-tracking",
    default=_default(RunOptions, "tracking"),
    show_default=True,
    help="mediapipe: read the frames of a tracklet as a video (the detector runs only where the "
    "track is lost); --no-tracking: every frame alone.",
)
@click.option(
    "--batch-size",
    default=_default(RunOptions, "batch_size"),
    show_default=True,
    help="Frames per backend call.",
)
@click.option(
    "--workers",
    default=_default(RunOptions, "workers"),
    show_default=True,
    help="Decoding threads.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    help="Labelling processes, each with its own models (default: one per usable core where the "
    "pose model runs on one core, mediapipe; else 1; 1 per rank under torchrun).",
)
@click.option(
    "--shard-frames",
    default=_default(RunOptions, "shard_frames"),
    show_default=True,
    help="Frames per shard (whole tracklets); the unit of resume and of torchrun's split.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def pseudolabel(
    root: Path,
    out: Path,
    pose: str,
    parsing: str,
    pose_config: str | None,
    pose_checkpoint: str | None,
    parsing_config: str | None,
    parsing_checkpoint: str | None,
    detector_config: str | None,
    detector_checkpoint: str | None,
    person_classes: str | None,
    device: str,
    margin: float,
    tracking: bool,
    batch_size: int,
    workers: int,
    processes: int | None,
    shard_frames: int,
    resume: bool,
    overwrite: bool,
) -> None:
    """Cache pose keypoints and a person mask for every frame of ROOT.

    ROOT is a DukeMTMC-VideoReID root, a built dataset (then only its frames are labelled), or
    an image ReID folder in the Market-1501 layout (bounding_box_train/ query/
    bounding_box_test/, images directly inside): each image is then its own one-frame
    tracklet, OUT/occlusion.csv tags every image, `occreid stats ROOT --annotations
    OUT/occlusion.csv` gives per-image occlusion statistics and `occreid review ROOT` shows each
    image as its own item. The cache (OUT) holds per frame 17 COCO keypoints, the APU targets
    (shoulder / hip / knee heights, knee x) and a 64x32 person mask, in shards written
    atomically: a killed run continues with --resume. Under `torchrun --nproc-per-node N -m
    occreid.cli pseudolabel ...` each rank labels its share of shards. At the end
    OUT/occlusion.csv holds automatic occlusion tags (see `occreid tag-occlusion`).

    \b
    Backends and their weights:
      oracle     the ground truth `occreid synth` writes (toy data only)
      mediapipe  offline CPU; models ship in the mediapipe 0.10.x wheel
                 (pip install ".[mediapipe]" && pip install --no-deps mediapipe==0.10.14)
      mmpose     OpenMMLab top-down pose (scripts/install_mm.sh); weights from the mmpose model
                 zoo, e.g. the RTMPose-m COCO checkpoint URL, via --pose-checkpoint
      mmseg      OpenMMLab segmentation; a human-parsing model (e.g. trained on LIP) or the person
                 class of an ADE20K / Cityscapes model, via --parsing-checkpoint; persons are
                 counted by an mmdet detector (--detector-checkpoint)
    """
    from occreid.pseudolabel.runner import run

    pose_options = {"config": pose_config, "checkpoint": pose_checkpoint}
    parsing_options: dict[str, Any] = {
        "config": parsing_config,
        "checkpoint": parsing_checkpoint,
        "detector_config": detector_config,
        "detector_checkpoint": detector_checkpoint,
    }
    if person_classes is not None:
        parsing_options["person_classes"] = tuple(int(c) for c in person_classes.split(","))
    opts = RunOptions(
        root=root,
        out=out,
        pose=pose,
        parsing=parsing,
        pose_options={k: v for k, v in pose_options.items() if v is not None},
        parsing_options={k: v for k, v in parsing_options.items() if v is not None},
        device=device,
        margin=margin,
        tracking=tracking,
        batch_size=batch_size,
        workers=workers,
        processes=processes,
        shard_frames=shard_frames,
        resume=resume,
        overwrite=overwrite,
    )
    report = run(opts)
    if report:
        click.echo(
            f"labelled {report['frames']:,} frames into {out} "
            f"({report['unreadable']} unreadable, listed in report.json)"
        )


@main.command("tag-occlusion")
@click.argument("labels", type=_EXISTING_DIR)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Annotation CSV to write (path,occlusion,persons,confidence); the calibration used "
    "goes beside it as OUT.calibration.json (OUT without .csv), with its check, where it has one "
    "(`occreid calibrate`'s), as OUT.calibration.check.csv: `occreid review` reads it with the "
    "CSV.",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Calibration JSON to use [default: LABELS/calibration.json from `occreid calibrate`, "
    "else the backends' shipped default].",
)
def tag_occlusion(labels: Path, out: Path, calibration: Path | None) -> None:
    """Estimate each frame's occlusion label (0-10), person count and confidence from a cache.

    Each frame is judged on its own evidence (the box is full-extent: it is the expected body):
    the pose model's score of each body level, and the share of the skeleton's silhouette that
    the target person's own mask leaves uncovered, where the parsing backend's mask is the
    target's visible body. A frame without evidence (no pose, or a skeleton that is not a body)
    is unknown: confidence 0, its label from the calibration's prior, never counted as occluded.
    Confidence is the probability that the occluded yes / no is right. The numbers come from the
    calibration (pseudolabel/calibration.py; `occreid calibrate` fits them to reviewed labels).
    """
    from occreid.common.atomic import write_text
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.calibration import (
        FILE_NAME,
        calibration_for,
        load_calibration,
        tags_calibration,
    )
    from occreid.pseudolabel.calibration_check import copy_check
    from occreid.pseudolabel.tagging import summary
    from occreid.pseudolabel.tagging import tag_occlusion as tag

    if not out.parent.is_dir():
        raise OccreidError(f"{out}: no folder {out.parent}; create it or pass another --out")
    cache = LabelCache(labels)
    cal = load_calibration(calibration) if calibration else calibration_for(labels, cache.meta)
    table = tag(cache, cal)
    try:
        write_text(out, table.to_csv(index=False))  # a review store never reads half a CSV
        cal.save(tags_calibration(out))
        copy_check(calibration or labels / FILE_NAME, tags_calibration(out), set(table["path"]))
    except OSError as err:
        raise OccreidError(
            f"{out}: cannot write ({err.strerror}); pass --out in a writable folder"
        ) from None
    fitted = "fitted on reviewed labels" if cal.fitted else "shipped default"
    click.echo(f"wrote {out} ({cal.pose}+{cal.parsing} calibration, {fitted}): {summary(table)}")


@main.command()
@click.argument("labels", type=_EXISTING_DIR)
@click.option(
    "--reviewed",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Reviewed annotation CSV (`occreid review --export`; rows with reviewed = 1 count, or "
    "the hand-made rows, without a confidence, of a CSV without that column).",
)
def calibrate(labels: Path, reviewed: Path) -> None:
    """Fit the occlusion tags of a label cache to reviewed labels; writes LABELS/calibration.json
    and its check (LABELS/calibration.check.csv: the reviewed frames' out-of-fold tags).

    A small monotone model (logistic regression of occluded yes / no on the frame's evidence,
    isotonic map to the label, the prior of frames without evidence) is checked by
    cross-validation grouped by tracklet; where it is not better than the calibration it starts
    from (or too few tracklets were reviewed), that one is kept and the output says so. A
    LABELS/calibration.json fitted earlier stays where, on the reviewed tracklets it was not
    fitted on (its check says which), it is worse than the new result on neither agreement nor
    balanced accuracy; with fewer than 5 such tracklets, where nothing was fitted now.
    `occreid tag-occlusion LABELS --out CSV` then uses it. pseudolabel/calibrate.py has the
    details.
    """
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.calibrate import fit_calibration, keeps_earlier, read_reviewed
    from occreid.pseudolabel.calibration import FILE_NAME, backend_names, default_calibration
    from occreid.pseudolabel.calibration_check import check_path, fitted_before, save_check
    from occreid.pseudolabel.tagging import evidence_table
    from occreid.review.unit import unit_of_labels

    cache = LabelCache(labels)
    base = default_calibration(*backend_names(cache.meta))
    answers = read_reviewed(reviewed)
    if answers.empty:
        raise OccreidError(
            f"{reviewed}: no reviewed frames (no row with reviewed = 1); accept some in "
            f"`occreid review`, export them with --export and pass that CSV"
        )
    known = answers["path"].isin(set(cache.index["path"]))
    if not known.any():
        raise OccreidError(
            f"{reviewed}: none of its {len(answers):,} reviewed frames is in {labels}; "
            "review frames of the source this cache was made from"
        )
    table = evidence_table(cache, base)
    fit = fit_calibration(table, answers, base, unit_of_labels(cache.meta).many)
    earlier = fitted_before(labels / FILE_NAME)
    judged = None if earlier is None else keeps_earlier(table, answers, fit, *earlier)
    stays = judged is not None and judged.stays
    # where the earlier fit stays, the fit's outcome (what it would write) and its estimate of
    # tags nobody will get are left out: the last line says what stays and why; where every
    # frame was reviewed, no tag is left to estimate
    unreviewed = not set(cache.index["path"]) <= set(answers["path"])
    for line in fit.lines(estimate=False)[:-1] if stays else fit.lines(unreviewed):
        click.echo(line)
    if (~known).any():
        click.echo(f"{int((~known).sum()):,} reviewed frames are not in the cache: left out")
    if judged is not None and stays:
        cause = "" if fit.used_fit or not fit.cause else f" ({fit.cause})"
        click.echo(
            f"left {labels / FILE_NAME} as it was (fitted earlier): {judged.why}{cause}; "
            "delete it to tag with the shipped default"
        )
        return
    if judged is not None:
        click.echo(f"replaced {labels / FILE_NAME} (fitted earlier): {judged.why}")
    fit.calibration.save(labels / FILE_NAME)
    save_check(labels / FILE_NAME, fit.check)  # what stands for its tags in the review's estimate
    tags = shlex.quote(str(labels / "occlusion.calibrated.csv"))
    again = f"occreid tag-occlusion {shlex.quote(str(labels))} --out {tags}"
    wrote = f"{labels / FILE_NAME}" + (
        "" if fit.check is None else f" and its check {check_path(labels / FILE_NAME)}"
    )
    click.echo(f"wrote {wrote}; tag-occlusion now uses it: `{again}`")


@main.command()
@click.argument("source", type=_EXISTING_DIR)
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Annotation CSV to review (tag-occlusion's, synth's, a previous export or hand-made). "
    "When it changes, frames nobody decided take its new proposals (once no server runs on the "
    "store), and the reviews are compared "
    "with the check beside it (CSV without .csv + .calibration.check.csv, from tag-occlusion) "
    "where there is one. New tags in another CSV start another store: to continue a review, "
    "write them into this CSV or pass its --store.",
)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The review store (SQLite). Default: beside the CSV (CSV.review.sqlite).",
)
@click.option(
    "--labels",
    type=_EXISTING_DIR,
    help="Label cache: overlay its key points and person masks, and re-tag from it (key c).",
)
@click.option(
    "--calibrate-every",
    type=int,
    help="Re-tag the frames nobody decided after every N newly accepted tracklets, with a "
    "calibration fitted on the decisions so far (needs --labels).",
)
@click.option(
    "--overlap",
    type=float,
    default=_default(ReviewOptions, "overlap"),
    show_default=True,
    help="Share of tracklets (a fixed, seeded choice) that, once accepted, every other reviewer "
    "reviews again blind (seeing the proposals, not the decision); their labels are kept apart "
    "and the header and export report the agreement (Cohen's kappa, label MAE).",
)
@click.option(
    "--host",
    default=_default(ReviewOptions, "host"),
    show_default=True,
    help="Address to listen on; any other than loopback also asks the token for reading.",
)
@click.option(
    "--port",
    type=int,
    default=_default(ReviewOptions, "port"),
    show_default=True,
    help="TCP port the page is served on, on the --host address (loopback, this machine only, "
    "unless --host says otherwise); a port in use is an error: pass another.",
)
@click.option(
    "--reviewer",
    help="Your name, stored with every decision (asked when not given and there is a terminal).",
)
@click.option(
    "--token",
    help=f"The server's secret (at least {MIN_TOKEN} characters; made up when not given). "
    "Beyond loopback it is printed in the URL.",
)
@click.option(
    "--missing-as-unoccluded",
    is_flag=True,
    help="Frames without a CSV row are proposed as occlusion 0, persons 1 (else an error).",
)
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the reviewed CSV here (and OUT.exclude.txt, but for an image folder: it has no "
    "exclusion list) and exit, without serving.",
)
def review(export_to: Path | None, **options: Any) -> None:
    """Review the occlusion labels of SOURCE in a browser, tracklet by tracklet.

    SOURCE is a DukeMTMC-VideoReID root, a dataset built from one, or an image ReID folder (each
    image its own item). The page offers the tracklets most in need first (not reviewed, frames
    without evidence, the most frames a reviewer is expected to change, occluded share nearest
    the 1/3 that decides query eligibility), each as a filmstrip with its labels; digits set
    labels, p marks more than one person, Enter accepts and opens the next, u undoes, c re-tags
    the frames nobody decided with a calibration fitted on the decisions so far. Every decision is
    stored at once (SQLite, with your name and the time): stop the server any time and start it
    again to continue. --export writes the reviewed CSV (with a `reviewed` column) that
    build-dataset reads, and the train tracklets marked as sharing an obstacle with the test set
    in the --exclude format (not for an image folder: train reads it as it is).
    """
    from occreid.review.session import bind, check_options, export_store, open_session, serve, url

    opts = ReviewOptions(**options)
    if export_to is not None:
        for line in export_store(opts, export_to):
            click.echo(line)
        return
    check_options(opts)
    reviewer = opts.reviewer
    if reviewer is None:
        if not sys.stdin.isatty():
            raise OccreidError("no terminal to ask your name: pass --reviewer NAME")
        import getpass

        reviewer = click.prompt("Reviewer name", default=getpass.getuser())
    ctx, opened = open_session(opts, reviewer)
    if opened.line():
        click.echo(opened.line())
    sock = bind(opts)
    click.echo(f"reviewing {opts.source} as {reviewer}: open {url(opts, ctx)}  (Ctrl+C stops)")
    serve(ctx, sock)


@main.command()
@click.argument("dataset", type=_EXISTING_DIR)
@click.option("--json", "as_json", is_flag=True, help="Print stats.json instead of the report.")
@click.option(
    "--annotations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Image folder: the occlusion CSV to count (LABELS/occlusion.csv from pseudolabel, or "
    "tag-occlusion's).",
)
@click.option(
    "--missing-as-unoccluded",
    is_flag=True,
    help="Image folder: images without a CSV row count as occlusion 0, persons 1.",
)
def stats(
    dataset: Path, as_json: bool, annotations: Path | None, missing_as_unoccluded: bool
) -> None:
    """Print the statistics report of DATASET: Tables 1-3 beside the paper's for a built dataset,
    per-image occlusion statistics for an image ReID folder (with --annotations).

    \b
    occreid stats /data/Occluded-DukeMTMC-VideoReID
    occreid stats /data/Market-1501 --annotations market-labels/occlusion.csv
    """
    from occreid.occdata.roots import RootKind, resolve_root

    kind = resolve_root(dataset, "stats", (RootKind.DATASET, RootKind.IMAGE_FOLDER))
    if kind is RootKind.IMAGE_FOLDER:
        from occreid.occdata.annotations import Missing
        from occreid.occdata.image_stats import image_folder_stats, image_stats_markdown

        if annotations is None:
            raise OccreidError(
                f"{dataset}: an image ReID folder has no built report; pass "
                "`--annotations LABELS/occlusion.csv` (the tags occreid pseudolabel wrote)"
            )
        missing = Missing.UNOCCLUDED if missing_as_unoccluded else Missing.ERROR
        table = image_folder_stats(dataset, annotations, missing)
        text = json.dumps(table, indent=2) + "\n" if as_json else None
        click.echo(text or image_stats_markdown(table, dataset, annotations), nl=False)
        return
    if annotations is not None or missing_as_unoccluded:
        given = "--annotations" if annotations is not None else "--missing-as-unoccluded"
        raise OccreidError(
            f"{dataset}: a built dataset's report counts the CSV it was built with; {given} is "
            "for an image folder: to count another CSV, build again with `occreid build-dataset "
            "SOURCE --out DEST --annotations CSV`"
        )
    name = "stats.json" if as_json else "stats.md"
    path = dataset / "reports" / name
    if not path.is_file():
        raise OccreidError(f"{path}: not found; is {dataset} the --out of occreid build-dataset?")
    click.echo(path.read_text(), nl=False)


_CONFIGS = "configs/ (rfcnet_video.yaml, rfcnet_image.yaml, baseline_*.yaml, ablations/)"


@main.command()
@click.option(
    "--dataset",
    required=True,
    type=_EXISTING_DIR,
    help="A built dataset (`occreid build-dataset --out`) or a Market-1501-style image folder.",
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Run folder (RUN/) to write."
)
@click.option(
    "--config",
    "config_file",
    help=f"Training config: a YAML file or a packaged name from {_CONFIGS}, e.g. "
    "rfcnet_image or ablations/video/trfc (`occreid configs` lists them). Default: the paper's "
    "RFCnet for the kind of DATASET: rfcnet_image for an image folder, rfcnet_video for a built "
    "dataset.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config value; repeat for more, e.g. --set optim.epochs=10 "
    "--set model.rfc_stages=[3] --set model.input_size=[128,64].",
)
@click.option(
    "--labels",
    type=_EXISTING_DIR,
    help="Label cache (occreid pseudolabel) for Lk and Lf: needed by every config with RFC "
    "blocks and loss.keypoint or loss.foreground above 0 (RFCnet's, the demo's); the "
    "baselines train without it.",
)
@click.option(
    "--source", type=_EXISTING_DIR, help="Frames' root, where it moved since build-dataset."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def train(config_file: str | Path | None, overrides: tuple[str, ...], **options: Any) -> None:
    """Train a model on DATASET's train split into RUN (--out).

    \b
    RUN/config.yaml        the resolved config
    RUN/log.csv, RUN/tb/   every loss term (TensorBoard: tensorboard --logdir RUN/tb)
    RUN/checkpoints/last.pt  every run.checkpoint_every epochs (for --resume)
    RUN/model.pt           the final model, for `occreid evaluate`

    On several GPUs or nodes: torchrun --nproc-per-node N -m occreid.cli train ...
    (data.ids_per_batch is the global P and must split over the processes).
    """
    from occreid.engine.checkpoint import last_checkpoint
    from occreid.engine.config import load_config
    from occreid.engine.data import default_config
    from occreid.engine.train import train as run_training

    opts = TrainOptions(**options)
    out = opts.out
    if opts.resume and config_file is None and (out / "config.yaml").is_file():
        config_file = out / "config.yaml"
    if config_file is None:
        config_file = default_config(opts.dataset)
        click.echo(f"config: {config_file}, the default for {opts.dataset}", err=True)
    cfg = load_config(config_file, overrides)
    try:
        summary = run_training(cfg, opts)
    except KeyboardInterrupt:
        if not last_checkpoint(out).is_file():
            raise click.ClickException(
                "interrupted before the first checkpoint; nothing was kept: run it again"
            ) from None
        hint = f"occreid train --dataset {opts.dataset} --out {out} --resume"
        message = f"interrupted; continue from the last checkpoint with: {hint}"
        raise click.ClickException(message) from None
    if summary:
        click.echo(
            f"trained {summary['epochs']} epochs ({summary['steps']} steps): {out / 'model.pt'}"
        )


@main.command()
def configs() -> None:
    """List the packaged training configs, by the name `occreid train --config NAME` takes.

    The paper's settings (rfcnet_video, rfcnet_image and the baselines), one config per ablation
    row of Tables 8 (ablations/image/) and 9 (ablations/video/), and the demo's. Each entry gives
    the name and the first sentence of the file's own description, wrapped to the terminal.
    """
    from occreid.engine.config import packaged_configs

    listed = packaged_configs()
    width = max(map(len, listed)) + 2
    columns = max(shutil.get_terminal_size().columns, width + 40)
    for name, what in listed.items():
        text = click.wrap_text(
            what, columns, initial_indent=" " * width, subsequent_indent=" " * width
        )
        click.echo(f"{name:<{width}}{text[width:]}")


@main.command()
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="RUN/model.pt or RUN/checkpoints/last.pt from `occreid train`.",
)
@click.option("--dataset", required=True, type=_EXISTING_DIR, help="Dataset with query + gallery.")
@click.option(
    "--labels", type=_EXISTING_DIR, help="Label cache: draws key-point targets in the pictures."
)
@click.option(
    "--source", type=_EXISTING_DIR, help="Frames' root, where it moved since build-dataset."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where metrics.json and pictures go (default: eval/ beside the checkpoint).",
)
@click.option(
    "--visualize", is_flag=True, help="Also draw ranked lists, APU regions, SRFC assignments."
)
@click.option(
    "--queries",
    default=_default(EvalOptions, "queries"),
    show_default=True,
    help="Queries drawn in the pictures.",
)
@click.option(
    "--device",
    default=_default(EvalOptions, "device"),
    show_default=True,
    help=f"{DEVICE_HELP} (torchrun: one per rank).",
)
def evaluate(checkpoint: Path, out: Path | None, **options: Any) -> None:
    """Single-query mAP and CMC of CHECKPOINT on DATASET (the paper's test protocol).

    Each query / gallery tracklet is cut into clips of data.test_clip_len frames (64 in the
    paper's video configs); clip features are averaged and L2-normalised; cosine distance; the
    gallery items of the query's identity in the query's camera are ignored.
    """
    from occreid.engine.evaluate import evaluate_checkpoint

    out = out or checkpoint.parent / "eval"
    if out.name == "eval" and checkpoint.parent.name == "checkpoints":
        out = checkpoint.parent.parent / "eval"
    metrics = evaluate_checkpoint(EvalOptions(checkpoint=checkpoint, out=out, **options))
    if "mAP" in metrics:
        click.echo(
            f"mAP {metrics['mAP']:.1%}  rank-1 {metrics['rank1']:.1%}  "
            f"rank-5 {metrics['rank5']:.1%}"
            f"  rank-10 {metrics['rank10']:.1%}  ({metrics['queries']} queries, "
            f"{metrics['queries_skipped']} without a match)  -> {out / 'metrics.json'}"
        )


@main.command()
@click.argument("directory", default="occreid-demo", type=click.Path(path_type=Path))
@click.option(
    "--ids", default=_default(DemoOptions, "ids"), show_default=True, help="Toy identities."
)
@click.option(
    "--seed", default=_default(DemoOptions, "seed"), show_default=True, help="Seed of every stage."
)
@click.option(
    "--backend",
    type=click.Choice(DEMO_BACKENDS),
    default=_default(DemoOptions, "backend"),
    show_default=True,
    help="Pseudo-label backend (auto: mediapipe if installed).",
)
@click.option(
    "--epochs", type=int, help="Training epochs of each model (default: the demo config's)."
)
@click.option(
    "--overwrite/--no-overwrite",
    default=_default(DemoOptions, "overwrite"),
    show_default=True,
    help="Replace an earlier demo in DIRECTORY.",
)
def demo(directory: Path, **options: Any) -> None:
    """The whole chain on toy data in DIRECTORY, ending in DIRECTORY/report.html.

    \b
    synth -> pseudolabel -> build-dataset -> train a baseline and an RFCnet for the same budget
    (configs/demo_*.yaml: ResNet-18 at 96 x 48 from scratch) -> evaluate both -> report with the
    dataset statistics, training curves, mAP / CMC of both models and the RFCnet's pictures.
    Minutes on a laptop CPU (the README gives a measured time).
    """
    from occreid.engine.demo import run_demo

    report = run_demo(DemoOptions(directory=directory, **options))
    summary = json.loads((directory / "results.json").read_text())
    click.echo("One run per model on this machine (another machine prints other numbers):")
    for name, r in summary["results"].items():
        click.echo(f"{name:>8}: mAP {r['mAP']:.1%}  rank-1 {r['rank1']:.1%}")
    click.echo(f"{summary['toy_benchmark']} The spread over seeds, and why: {report}")


if __name__ == "__main__":
    sys.exit(main())
