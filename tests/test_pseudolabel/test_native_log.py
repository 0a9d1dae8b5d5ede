"""The fd 2 filter (pseudolabel/backends/native_log.py): mediapipe's native log lines are dropped,
everything Python writes (lines, tqdm's \\r updates, tracebacks) comes through unchanged, in
order and promptly, and nothing is lost when the process ends without atexit."""

from __future__ import annotations

import importlib.util
import os
import re
import select
import subprocess
import sys
import textwrap
import time

import pytest

GLOG = (
    b"W0000 00:00:1796177363.635277    6933 inference_feedback_manager.cc:114] Feedback "
    b"manager requires a model with a single signature inference.\n"
)
GLOG_DATED = b"I1202 02:04:19.123456  4242 gl_context.cc:357] GL version: 3.2\n"
ABSL = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
TFLITE_PIECES = (b"INFO: ", b"Created TensorFlow Lite XNNPACK delegate for CPU.", b"\n")
NATIVE = re.compile(rb"XNNPACK|absl::|\.cc:\d+\]|^[IWEF]\d{4} ", re.MULTILINE)

# What the child writes, in order: ("native", bytes) to fd 2 directly, as the C++ code does;
# ("python", str) through sys.stderr; ("sleep", seconds) between pieces that must travel apart.
STEPS: list[tuple[str, object]] = [
    ("python", "loading the models\n"),
    ("native", TFLITE_PIECES[0]),
    ("sleep", 0.01),
    ("native", TFLITE_PIECES[1]),
    ("sleep", 0.01),
    ("native", TFLITE_PIECES[2]),
    ("native", ABSL),
    ("native", GLOG),
    ("python", "INFO: Created a model of my own\n"),  # a Python line much like a native one
    ("python", "\r 30%|###       | 3/10"),  # tqdm: no newline
    ("native", GLOG_DATED),  # glued after the bar's unfinished line
    ("python", "\r 40%|####      | 4/10"),
    ("python", "\r100%|##########| 10/10\n"),
    ("python", "Epoch 1 E"),  # ends in what could start a native header: held, then sent
    ("sleep", 0.01),
    ("python", "W: done\n"),
    ("native", GLOG),
]


def _child(steps: list[tuple[str, object]], last: str) -> str:
    """A Python program that installs the filter, runs ``steps``, then ``last``."""
    return textwrap.dedent(
        f"""
        import os, sys, time
        from occreid.pseudolabel.backends.native_log import quiet_native_logs
        quiet_native_logs()
        quiet_native_logs()  # once per process
        for kind, what in {steps!r}:
            if kind == "native":
                os.write(2, what)
            elif kind == "python":
                sys.stderr.write(what)
                sys.stderr.flush()
            else:
                time.sleep(what)
        """
    ) + textwrap.dedent(last)


def _python_text(steps: list[tuple[str, object]]) -> bytes:
    return "".join(str(what) for kind, what in steps if kind == "python").encode()


def test_native_lines_are_dropped_and_python_output_comes_through_in_order() -> None:
    code = _child(STEPS, 'raise RuntimeError("boom")\n')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 1
    expected = _python_text(STEPS)
    assert done.stderr.startswith(expected), done.stderr
    traceback = done.stderr[len(expected) :]
    assert traceback.startswith(b"Traceback (most recent call last):\n")
    assert traceback.endswith(b"RuntimeError: boom\n")
    assert not NATIVE.search(done.stderr), done.stderr
    assert done.stdout == b""


def test_an_unfinished_line_comes_at_once_and_nothing_is_lost_without_atexit() -> None:
    steps: list[tuple[str, object]] = [("python", "\r 50%|#####     | 5/10")]
    last = """
        sys.stdout.write("bar written\\n"); sys.stdout.flush()
        sys.stdin.readline()  # the test has seen the bar
        sys.stderr.write("\\r 60%|######    | 6/10\\nlast words\\n")
        os.write(2, b"F1202 02:04:19.000001  77 crash.cc:1] Check failed\\n")
        os._exit(3)  # no atexit, as a native crash: the reader still writes it all
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _child(steps, last)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin and child.stdout and child.stderr
    assert child.stdout.readline() == b"bar written\n"
    seen, deadline = b"", time.monotonic() + 10
    bar = _python_text(steps)
    while seen != bar and time.monotonic() < deadline:
        if select.select([child.stderr], [], [], 0.1)[0]:
            seen += os.read(child.stderr.fileno(), 4096)
    assert seen == bar  # forwarded while the child still runs, without its newline
    child.stdin.write(b"go\n")
    child.stdin.close()
    rest = child.stderr.read()
    assert child.wait(timeout=60) == 3
    assert seen + rest == bar + b"\r 60%|######    | 6/10\nlast words\n"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="needs mediapipe")
def test_a_real_mediapipe_pose_writes_no_native_line() -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from occreid.pseudolabel.backends.mediapipe_backend import MediaPipePose
        pose = MediaPipePose()
        pose.still.process(np.zeros((256, 256, 3), np.uint8))
        pose.track.process(np.zeros((256, 256, 3), np.uint8))
        print("python still speaks", file=sys.stderr)
        """
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=300, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == b"python still speaks\n", done.stderr[-2000:]
