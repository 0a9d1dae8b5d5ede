#!/usr/bin/env bash
# Optional extra: the OpenMMLab stack for `occreid pseudolabel --pose mmpose --parsing mmseg`.
# mmcv has no Linux wheels on PyPI: it is built from the sdist for the torch already installed
# (about 8 minutes on 2 cores; pip caches the wheel, so a second run takes seconds). The mm
# packages are installed without their declared dependencies (which pull torchvision, another
# torch or a second OpenCV), then their real runtime needs. The core tool never imports any of it.
# Usage: scripts/install_mm.sh [PYTHON]   (default .venv/bin/python; FORCE_CUDA=1 on GPU machines)
set -euo pipefail
PY=${1:-.venv/bin/python}
pip() { "$PY" -m pip "$@"; }

# build needs (mmcv's setup.py imports pkg_resources: setuptools < 70) and runtime needs
pip install "setuptools<70" wheel cython numpy opencv-python-headless addict yapf termcolor rich \
  packaging pillow pyyaml regex matplotlib
if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
  src=$(mktemp -d)
  pip download --no-deps --no-build-isolation -d "$src" mmcv==2.1.0
  MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
    pip install --no-deps --no-build-isolation "$src"/mmcv-2.1.0.tar.gz
fi
pip install --no-deps mmengine mmpose==1.3.2 mmsegmentation==1.2.2 mmdet==3.3.0
pip install json_tricks munkres scipy shapely terminaltables pycocotools prettytable ftfy six
# xtcocotools' wheel is built against numpy 1.x; build it for the installed numpy.
pip install --no-build-isolation --no-binary xtcocotools xtcocotools
# torch asks for setuptools >= 77 again (pkg_resources is still there below 81)
pip install "setuptools>=77,<81"
"$PY" -c "import mmcv.ops, mmpose.models, mmpose.datasets.transforms, mmseg.models; print('OpenMMLab extra ready')"
