"""The oracle backend on frames that are not synth data names the options that fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from occreid.common.errors import OccreidError
from occreid.pseudolabel.backends.oracle import GroundTruth


def test_real_frames_without_ground_truth_name_the_backends_to_use(tmp_path: Path) -> None:
    with pytest.raises(OccreidError) as err:
        GroundTruth(tmp_path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(tmp_path))
    assert "--pose mediapipe --parsing keypoints" in message
