"""`occreid review`: check the inputs, open the store, then serve the app or export.

Everything is checked before the server starts (one-line errors): SOURCE is a DukeMTMC-VideoReID
tree or a dataset built from one, the CSV follows build-dataset's rules (known frames, labels in
range, no duplicates, every frame annotated unless ``missing_as_unoccluded``), an existing store
holds the same frames (by content, wherever SOURCE now lies) and takes a CSV with other tags only
where no server runs on it (review/lock.py; a server holds its store's lock while it runs), a
server is refused a store it cannot write (before anything is read or copied), the
token is long enough and the port is free before the URL is printed. What reading the CSV warns
(its check's rows of another source) is said where the store takes the CSV, not at every start
on an unchanged one, which takes nothing from it.
"""

from __future__ import annotations

import errno
import socket
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing
from occreid.review.app import LOOPBACK_NAMES, ReviewContext
from occreid.review.options import MIN_TOKEN, ReviewOptions, is_loopback, is_wildcard
from occreid.review.source import proposals, source_frames
from occreid.review.store import Opened, ReviewStore, is_read_only, store_path
from occreid.review.unit import unit_of

if TYPE_CHECKING:
    from occreid.pseudolabel.cache import LabelCache

SAMPLE = 200  # label-cache frames looked up in the store to tell a cache of other frames
READ_ONLY = (  # a server is refused a store it cannot write
    "{store}: the review store cannot be written here; it can be exported (--export), or "
    "copied to a writable place and reviewed with --store PATH"
)


def open_store(opts: ReviewOptions, serving: bool = False) -> tuple[Path, ReviewStore, Opened]:
    """(the frames' root, the store, what opening did to its proposals); the store is made
    from the CSV the first time and follows the CSV when it changes, where no server runs on
    it (review/lock.py); ``serving``: for a server, which holds the store's lock from here on
    and is refused a store it cannot write before anything is read or copied (an export reads
    that store through a private copy: at DukeMTMC's size, seconds of copying)."""
    path = named_store(opts)
    if not path.parent.is_dir():  # a --store's (the CSV's folder is there): before anything
        raise OccreidError(f"{path}: no folder {path.parent}; create it or pass another --store")
    if serving and is_read_only(path):
        raise OccreidError(READ_ONLY.format(store=path))
    root, frames = source_frames(opts.source)
    missing = Missing.UNOCCLUDED if opts.missing_as_unoccluded else Missing.ERROR
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        table = proposals(frames, opts.annotations, missing)
    store, opened = ReviewStore.open(path, root, table, serving)
    if opened.state != "unchanged":  # what the CSV's check says counts where it is taken
        for warning in said:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, 0)
    return root, store, opened


def named_store(opts: ReviewOptions) -> Path:
    """The store the reviewer names (--store, else the CSV's): what messages name, also where
    it is read through a private copy (a store that cannot be written)."""
    return opts.store or store_path(opts.annotations)


def export_store(opts: ReviewOptions, out: Path) -> list[str]:
    """`occreid review --export OUT`: write the reviewed CSV (and, but for an image folder, the
    exclusions) from the store; the lines to print."""
    from occreid.review.export import export, export_lines

    if not out.parent.is_dir():  # before the store takes a changed CSV: nothing half done
        raise OccreidError(f"{out}: no folder {out.parent}; create it or pass another --export")
    _not_an_input(opts, out)
    _, store, opened = open_store(opts)
    unit = unit_of(opts.source)
    return [*filter(None, [opened.line()]), *export_lines(export(store, out, unit), unit)]


def _not_an_input(opts: ReviewOptions, out: Path) -> None:
    """--export replaces its file: never the CSV under review (the store would then follow the
    export) nor the store or a file beside it that it keeps (its decisions and their history
    would be gone, its lock broken)."""
    store, at = named_store(opts).resolve(), out.resolve()
    what = None
    if at == opts.annotations.resolve():
        what = "the CSV under review (--annotations)"
    elif at.parent == store.parent and at.name.startswith(store.name):
        what = f"the review store {named_store(opts)} or one of its files"
    if what is not None:
        raise OccreidError(f"{out}: that is {what}; pass another --export file")


def check_options(opts: ReviewOptions) -> None:
    """--calibrate-every (with --labels), --overlap's range, the token's length and the port's
    range, before anything is opened."""
    if opts.calibrate_every is not None and opts.labels is None:
        raise OccreidError(
            "--calibrate-every re-tags from the label cache: pass --labels LABELS too"
        )
    if opts.calibrate_every is not None and opts.calibrate_every < 1:
        raise OccreidError(f"--calibrate-every {opts.calibrate_every}: give a number >= 1")
    if not 0 <= opts.overlap <= 1:
        raise OccreidError(f"--overlap {opts.overlap}: a share is 0-1 (0.1: one in ten)")
    if opts.token is not None and len(opts.token) < MIN_TOKEN:
        raise OccreidError(
            f"--token must be at least {MIN_TOKEN} characters (or leave it out: one is made up)"
        )
    if not 1 <= opts.port <= 65535:
        raise OccreidError(f"--port {opts.port}: a port is 1-65535")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _check_labels(labels: LabelCache, store: ReviewStore, source: Path) -> None:
    """A label cache of other frames would overlay nothing and re-tag from nothing (a re-tag
    then reads '0 reviewed'): refuse it, naming the source it was made from."""
    paths = labels.index["path"]
    sample = paths.iloc[:: max(1, len(paths) // SAMPLE)].tolist()
    if sample and store.holds(sample) == 0:
        made = labels.meta.get("source", "another source")
        raise OccreidError(
            f"{labels.root}: a label cache of other frames (made from {made}); pass the one "
            f"`occreid pseudolabel {source} --out LABELS` made"
        )


def open_session(opts: ReviewOptions, reviewer: str) -> tuple[ReviewContext, Opened]:
    """The app's context (store, label cache, the per-server secret: --token or made up) and
    what opening did to the proposals."""
    check_options(opts)
    if not reviewer.strip():
        raise OccreidError("a reviewer name is needed (--reviewer NAME)")
    root, store, opened = open_store(opts, serving=True)
    if store.read_only:  # where it became so after open_store's check
        raise OccreidError(READ_ONLY.format(store=named_store(opts)))
    labels, retag = None, None
    if opts.labels is not None:
        from occreid.pseudolabel.cache import LabelCache
        from occreid.review.retag import Retagger

        labels = LabelCache(opts.labels)
        _check_labels(labels, store, opts.source)
        retag = Retagger(
            labels,
            unit=unit_of(opts.source),
            every=opts.calibrate_every,
            accepted_at_last=store.accepted(),
        )
    ctx = ReviewContext(
        source=root,
        store=store,
        reviewer=reviewer,
        unit=unit_of(opts.source),
        labels=labels,
        retag=retag,
        overlap=opts.overlap,
        port=opts.port,
        names=LOOPBACK_NAMES | {_bracket(opts.host).lower()},
        any_ip=is_wildcard(opts.host),
        token_for_reads=not is_loopback(opts.host),
    )
    if opts.token is not None:
        ctx.secret = opts.token
    if ctx.any_ip:
        ctx.names = ctx.names | {socket.gethostname().lower(), socket.getfqdn().lower()}
    return ctx, opened


def bind(opts: ReviewOptions) -> socket.socket:
    """The listening socket (bound before the URL is printed: a port in use is an error, not
    another server's page)."""
    check_options(opts)
    host = opts.host.strip("[]")
    try:
        family = socket.getaddrinfo(host, opts.port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise OccreidError(f"--host {opts.host}: not an address of this machine") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, opts.port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise OccreidError(
                f"port {opts.port} is in use (another server?); pass --port N"
            ) from None
        raise OccreidError(f"cannot listen on {opts.host}:{opts.port} ({err.strerror})") from None
    sock.listen(128)
    return sock


def url(opts: ReviewOptions, ctx: ReviewContext) -> str:
    query = f"/?token={ctx.secret}" if ctx.token_for_reads else "/"
    return f"http://{_bracket(opts.host)}:{opts.port}{query}"


def serve(ctx: ReviewContext, sock: socket.socket) -> None:
    """Run the app on ``sock`` until interrupted (uvicorn)."""
    import uvicorn

    from occreid.review.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="warning"))
    server.run(sockets=[sock])
