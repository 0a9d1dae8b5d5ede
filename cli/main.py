"""The `occreid` command group. Commands parse options, call the library and print; heavy imports
stay inside the callbacks so that `occreid --help` is instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from occreid.occdata.errors import OccreidError


class _Group(click.Group):
    """Turns an OccreidError into click's one-line `Error: ...` and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OccreidError as err:
            raise click.ClickException(str(err)) from None


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
      stats          print the statistics report of a built dataset
      demo           run the whole chain on toy data
    """


_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--ids",
    default=60,
    show_default=True,
    help="Identities with train / query tracklets (half each).",
)
@click.option(
    "--distractors", default=10, show_default=True, help="Gallery-only identities, one camera each."
)
@click.option("--cameras", default=8, show_default=True, help="Number of cameras.")
@click.option("--min-frames", default=12, show_default=True, help="Shortest tracklet.")
@click.option("--max-frames", default=40, show_default=True, help="Longest tracklet.")
@click.option("--height", default=128, show_default=True, help="Frame height in pixels.")
@click.option(
    "--width", default=64, show_default=True, help="Frame width in pixels (multiple of 8)."
)
@click.option(
    "--occluded-tracklets",
    default=0.7,
    show_default=True,
    help="Share of tracklets that an occluder crosses.",
)
@click.option("--seed", default=0, show_default=True, help="Random seed; same seed, same dataset.")
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def synth(dest: Path, overwrite: bool, **options: Any) -> None:
    """Render a toy DukeMTMC-VideoReID into DEST, with exact ground truth beside the frames.

    Identities come in groups that share head and upper body and differ only below the waist;
    vehicles and low walls hide the legs, poles and trees a vertical strip, other people cross
    the crop. DEST/annotations.csv is ready for `occreid build-dataset`; DEST/groundtruth/ holds
    COCO-17 keypoints, visible person masks, occlusion labels and person counts.
    """
    from occreid.occdata.synth import SynthConfig, synthesize

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
@click.option("--seed", default=0, show_default=True, help="Seed of the query draw.")
@click.option(
    "--min-query-frames",
    default=8,
    show_default=True,
    help="Shortest query sub-tracklet; a shorter source tracklet offers only itself.",
)
@click.option(
    "--max-query-frames",
    default=128,
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
    from occreid.occdata.build import BuildOptions
    from occreid.occdata.build import build_dataset as build
    from occreid.occdata.resplit import QueryPolicy

    opts = BuildOptions(
        source=source,
        out=out,
        annotations=annotations,
        exclude=exclude,
        seed=seed,
        policy=QueryPolicy(min_query_frames, max_query_frames),
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
@click.argument("dataset", type=_EXISTING_DIR)
@click.option("--json", "as_json", is_flag=True, help="Print stats.json instead of the report.")
def stats(dataset: Path, as_json: bool) -> None:
    """Print the statistics report (Tables 1-3 beside the paper's) of a built DATASET."""
    name = "stats.json" if as_json else "stats.md"
    path = dataset / "reports" / name
    if not path.is_file():
        raise OccreidError(f"{path}: not found; is {dataset} the --out of `occreid build-dataset`?")
    click.echo(path.read_text(), nl=False)


@main.command()
@click.argument("directory", default="occreid-demo", type=click.Path(path_type=Path))
@click.option("--ids", default=60, show_default=True, help="Toy identities.")
@click.option("--seed", default=0, show_default=True, help="Seed of every stage.")
@click.option(
    "--overwrite/--no-overwrite",
    default=True,
    show_default=True,
    help="Replace an earlier demo in DIRECTORY.",
)
def demo(directory: Path, ids: int, seed: int, overwrite: bool) -> None:
    """Run the chain on toy data in DIRECTORY: synth -> build-dataset -> report.

    Later stages (pseudolabel, train, evaluate) join the chain as they land.
    """
    from occreid.occdata.annotations import Missing
    from occreid.occdata.build import BuildOptions
    from occreid.occdata.build import build_dataset as build
    from occreid.occdata.synth import SynthConfig, synthesize

    source, dataset = directory / "toy-source", directory / "dataset"
    directory.mkdir(parents=True, exist_ok=True)
    click.echo(f"[1/2] synth -> {source}")
    synthesize(source, SynthConfig(ids=ids, seed=seed), overwrite=overwrite)
    click.echo(f"[2/2] build-dataset -> {dataset}")
    stats = build(
        BuildOptions(
            source=source,
            out=dataset,
            annotations=source / "annotations.csv",
            seed=seed,
            missing=Missing.ERROR,
            overwrite=overwrite,
        )
    )
    click.echo(json.dumps(stats["table3"]))
    click.echo(f"report: {dataset / 'reports' / 'stats.html'}")


if __name__ == "__main__":
    sys.exit(main())
