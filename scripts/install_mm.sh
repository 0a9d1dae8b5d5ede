#!/usr/bin/env bash
# Optional extra: the OpenMMLab stack for `occreid pseudolabel --pose mmpose --parsing mmseg`.
# mmcv has no Linux wheels on PyPI: it is built from the sdist for the torch already installed
# (about 8 minutes on 2 cores; pip caches the wheel, so a second run takes seconds). The mm
# packages are installed without their declared dependencies (which would pull torchvision or
# another torch), then their real runtime needs. The core tool never imports any of this.
# Usage: scripts/install_mm.sh [PYTHON]   (default .venv/bin/python; FORCE_CUDA=1 on GPU machines)
set -euo pipefail
PY=${1:-.venv/bin/python}
pip() { "$PY" -m pip "$@"; }

pip install "setuptools<70" wheel numpy opencv-python-headless addict yapf termcolor rich packaging
if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
  src=$(mktemp -d)
  pip download --no-deps --no-build-isolation -d "$src" mmcv==2.1.0
  MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
    pip install --no-build-isolation "$src"/mmcv-2.1.0.tar.gz
fi
pip install --no-deps mmengine mmpose==1.3.2 mmsegmentation==1.2.2 mmdet==3.3.0
pip install json_tricks munkres scipy matplotlib pillow six tqdm shapely terminaltables \
  pycocotools prettytable ftfy regex
# xtcocotools' wheel is built against numpy 1.x; build it for the installed numpy.
pip install --no-binary xtcocotools xtcocotools
# mmcv's setup.py needed an old setuptools (pkg_resources); torch asks for >= 77 again.
pip install "setuptools>=77,<81"
"$PY" -c "import mmcv.ops, mmpose.models, mmseg.models; print('OpenMMLab extra ready')"
