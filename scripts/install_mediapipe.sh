#!/usr/bin/env bash
# Optional extra: the offline CPU backend (`--pose mediapipe --parsing mediapipe`). mediapipe
# 0.10.x carries its pose and selfie-segmentation models inside the wheel, so it runs with no
# internet. Its declared dependencies pull jax and opencv-contrib-python (which clashes with
# opencv-python-headless): install it without them, then what it really needs.
# Usage: scripts/install_mediapipe.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail
PY=${1:-.venv/bin/python}
"$PY" -m pip install --no-deps mediapipe==0.10.14
"$PY" -m pip install absl-py attrs flatbuffers "protobuf>=4.25.3,<5"
"$PY" -c "import mediapipe as mp; mp.solutions.pose; print('mediapipe extra ready')"
