"""A filter in front of file descriptor 2 that drops mediapipe's native log lines.

mediapipe's C++ code (glog / absl / TFLite) writes lines such as ``INFO: Created TensorFlow Lite
XNNPACK delegate for CPU.`` and ``W0000 00:00:... inference_feedback_manager.cc:114] ...``
straight to fd 2 when graphs are built; GLOG_minloglevel and its kin have no effect on them.
``quiet_native_logs()`` (once per process) starts a reader on the real stderr, puts a pipe's
write end on fd 2, and the reader copies everything to the real stderr except complete lines that
start with a native header (glog / absl ``[IWEF]MMDD hh:mm:ss.us thread file:line]``, TFLite's
``INFO: Created TensorFlow Lite`` / ``INFO: Initialized TensorFlow Lite runtime``, absl's
``WARNING: All log messages before absl::InitializeLog() is called``), at a line's start or
glued after another writer's unfinished line (a progress bar). Everything else (tqdm's ``\\r``
updates, warnings, tracebacks) is forwarded as soon as it arrives, unchanged and in order; only
an unfinished line that could still become a native one is held, for at most ``HOLD_S``.

The reader is a small process, not a thread: a thread dies with its process, so whatever is in
the pipe when the process ends without atexit (``os._exit``, a signal, a native crash and
faulthandler's dump) would be lost. The process reads until every writer has closed the pipe,
this one and the processes it started (they inherit fd 2), so it loses nothing; it runs in its
own session so a Ctrl-C at the terminal does not stop it before the traceback is through. At a
normal exit (atexit) this process sends FLUSH and waits until the reader has written everything
sent before it, so the last lines come before the shell's prompt. fd 2 stays on the pipe: the
native code writes lines it buffered when the C runtime exits, after atexit (measured: with the
real stderr put back at atexit, mediapipe's ``W0000 ...`` lines came through at exit).

A native line written in pieces (TFLite writes ``INFO: ``, the message and the newline apart)
while another thread of the same process writes to stderr can come out mixed with that line:
the pieces are then not a line of their own and are forwarded.

It stays on under pytest: fd capture puts a temporary file on fd 2, a real descriptor, and the
reader writes to it like to a terminal. It is off only where fd 2 is closed, there is no
``sys.executable``, or off POSIX (the reader waits on the pipe with ``select``).
"""

from __future__ import annotations

import atexit
import os
import re
import select
import subprocess
import sys
import warnings
from dataclasses import dataclass

HOLD_S = 0.2  # how long an unfinished line that may become a native one waits for its end
FLUSH_S = 5.0  # how long a normal exit waits for the reader to write what was sent before
CHUNK = 65536
FLUSH = b"\0occreid-native-log-flush\0"  # sent at exit; the reader answers once it is through

_GLOG = [r"[IWEF]", *[r"\d"] * 4, " ", r"\d", r"\d", ":", r"\d", r"\d", ":", r"\d+", r"\.", r"\d+"]
_GLOG += [" +", r"\d+", " ", r"[^\s:\]]+", ":", r"\d+", r"\]", " "]
_LITERALS = [
    b"INFO: Created TensorFlow Lite",
    b"INFO: Initialized TensorFlow Lite runtime",
    b"WARNING: All log messages before absl::InitializeLog() is called",
]
_HEADERS = [_GLOG, *[[re.escape(chr(c)) for c in text] for text in _LITERALS]]
HEADER = re.compile("|".join("".join(tokens) for tokens in _HEADERS).encode())
NATIVE_LINE = re.compile(b"(?:" + HEADER.pattern + rb")[^\n]*\n")


def _prefix_pattern(tokens: list[str]) -> re.Pattern[bytes]:
    """What fully matches any beginning of a header made of ``tokens`` (empty included)."""
    pattern = ""
    for token in reversed(tokens):
        pattern = f"(?:{token}{pattern})?"
    return re.compile(pattern.encode())


_PREFIXES = [_prefix_pattern(tokens) for tokens in _HEADERS]
_STARTS = frozenset(b"IWEF\0")  # the first bytes of every header and of FLUSH


def _may_become_native(text: bytes) -> bool:
    """Whether an unfinished line (from its start) could still be a native line or FLUSH."""
    if HEADER.match(text) or FLUSH.startswith(text):
        return True
    return any(p.fullmatch(text) for p in _PREFIXES)


def split(data: bytes) -> tuple[bytes, bytes]:
    """(what to forward now, what to hold) of ``data``: complete native lines dropped, and the
    unfinished last line held from the first place a native line could be starting."""
    kept = NATIVE_LINE.sub(b"", data)
    start = kept.rfind(b"\n") + 1
    for at in range(start, len(kept)):
        if kept[at] in _STARTS and _may_become_native(kept[at:]):
            return kept[:at], kept[at:]
    return kept, b""


def _write(fd: int, data: bytes) -> bool:
    """Write all of ``data``; False once ``fd`` is gone (a closed pipe): the rest is dropped."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        return False
    return True


def forward(src: int, dst: int, ack: int) -> None:
    """The reader: copy ``src`` to ``dst`` through ``split`` until every writer has closed
    ``src``; write one byte to ``ack`` for each FLUSH, once everything before it is out."""
    held, open_dst = b"", True
    while True:
        ready, _, _ = select.select([src], [], [], HOLD_S if held else None)
        chunk = os.read(src, CHUNK) if ready else b""
        if ready and not chunk:
            break
        data = held + chunk
        while FLUSH in data:
            before, data = data.split(FLUSH, 1)
            open_dst = open_dst and _write(dst, NATIVE_LINE.sub(b"", before))
            _write(ack, b".")
        now, held = split(data) if chunk else (data, b"")  # nothing came in time: forward it
        if len(held) > CHUNK:  # a native header without its line's end: not a log line
            now, held = now + held, b""
        open_dst = open_dst and _write(dst, now)
    if open_dst:
        _write(dst, held)


@dataclass(frozen=True)
class _Filter:
    pid: int
    pipe: int  # a write end of the pipe (besides fd 2), kept to send FLUSH at exit
    ack: int  # where the reader answers FLUSH
    reader: subprocess.Popen[bytes]  # outlives this process: it reads until every writer is gone


_installed: _Filter | None = None


def quiet_native_logs() -> None:
    """Put the filter in front of fd 2 (the first call in a process; later calls, and processes
    forked after it, which write into the same pipe, do nothing)."""
    global _installed
    if _installed is not None or not sys.executable or os.name != "posix":
        return
    try:
        os.fstat(2)
    except OSError:
        return  # no stderr to filter
    read_end, write_end = os.pipe()
    ack_read, ack_write = os.pipe()
    try:  # close_fds: the reader must hold no other pipe (multiprocessing's sentinels)
        reader = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__],
            stdin=read_end,
            stdout=ack_write,
            close_fds=True,
            start_new_session=True,
        )
    except OSError:
        for fd in (read_end, write_end, ack_read, ack_write):
            os.close(fd)
        return
    os.close(read_end)
    os.close(ack_write)
    _flush_python_stderr()
    os.dup2(write_end, 2)
    _installed = _Filter(os.getpid(), write_end, ack_read, reader)
    still_running = f"subprocess {reader.pid} is still running"  # by design, at exit
    warnings.filterwarnings("ignore", re.escape(still_running), ResourceWarning)
    atexit.register(_flush_at_exit, _installed)


def _flush_python_stderr() -> None:
    """Write out what Python's sys.stderr still buffers, before fd 2 changes."""
    if sys.stderr is not None:
        sys.stderr.flush()


def _flush_at_exit(installed: _Filter) -> None:
    """At exit: wait until the reader has written everything this process sent before."""
    if os.getpid() != installed.pid:
        return  # a forked child: its parent's reader goes on
    _flush_python_stderr()
    if _write(installed.pipe, FLUSH):
        select.select([installed.ack], [], [], FLUSH_S)


if __name__ == "__main__":
    forward(0, 2, 1)
