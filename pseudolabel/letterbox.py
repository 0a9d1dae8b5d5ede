"""The input policy every image backend applies: pad a grey margin around the crop, pad it to the
model's aspect ratio, scale it to the model's input size (small DukeMTMC crops, often under 100 px
wide, are upscaled; a pose model finds nothing on them otherwise), and map the outputs back to
the original frame.

The margin: a full-extent box touches the person's head and feet, while pose models are trained
on boxes with room around the person (mmpose's top-down pipeline pads the box by 1.25 for the
same reason). A pose backend that finds no pose on the crop as it is tries again with MARGIN of
its height / width padded on each side. The retry finds more poses than the bare crop, and
padding every crop finds as many but worse ones, so the crop goes in as it is first (measured
with mediapipe on real dev crops by benchmarks/tagging_real.py --margin; numbers in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = (114, 114, 114)  # grey, as detection / pose pipelines pad
MARGIN = 0.1  # share of the crop's height / width padded on each side on the retry (see above)


@dataclass(frozen=True)
class Letterbox:
    """How a frame of size ``orig`` (h, w) sits in the model input of size ``size`` (H, W)."""

    scale: float
    pad_x: float
    pad_y: float
    size: tuple[int, int]
    orig: tuple[int, int]

    def points_to_frame(self, xy: np.ndarray) -> np.ndarray:
        """Model-input (x, y) -> frame pixels; (..., 2)."""
        return (xy - np.array([self.pad_x, self.pad_y])) / self.scale

    def mask_to(self, mask: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
        """A model-input mask (H, W) float / bool -> the frame's area resized to ``out_size``."""
        h, w = self.orig
        y0, x0 = round(self.pad_y), round(self.pad_x)
        y1, x1 = y0 + max(1, round(h * self.scale)), x0 + max(1, round(w * self.scale))
        crop = mask[y0:y1, x0:x1].astype(np.float32)
        return cv2.resize(crop, (out_size[1], out_size[0]), interpolation=cv2.INTER_AREA) >= 0.5


def letterbox(
    image: np.ndarray, size: tuple[int, int], margin: float = 0.0
) -> tuple[np.ndarray, Letterbox]:
    """Pad ``margin`` of the height / width on each side, scale to fit ``size`` (H, W) keeping the
    aspect ratio, pad the rest, centred; the Letterbox maps back to ``image``'s pixels."""
    if margin > 0:
        mh, mw = round(margin * image.shape[0]), round(margin * image.shape[1])
        padded = cv2.copyMakeBorder(image, mh, mh, mw, mw, cv2.BORDER_CONSTANT, value=PAD_VALUE)
        canvas, box = letterbox(padded, size)
        pad_x, pad_y = box.pad_x + mw * box.scale, box.pad_y + mh * box.scale
        return canvas, Letterbox(box.scale, pad_x, pad_y, size, image.shape[:2])
    h, w = image.shape[:2]
    scale = min(size[0] / h, size[1] / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(
        image, (nw, nh), interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    )
    pad_y, pad_x = (size[0] - nh) / 2, (size[1] - nw) / 2
    top, left = round(pad_y), round(pad_x)
    canvas = cv2.copyMakeBorder(
        resized,
        top,
        size[0] - nh - top,
        left,
        size[1] - nw - left,
        cv2.BORDER_CONSTANT,
        value=PAD_VALUE,
    )
    return canvas, Letterbox(scale, float(left), float(top), size, (h, w))
