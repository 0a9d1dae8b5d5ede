import cv2
import numpy as np
import torch
from torch import nn

from occreid.common.runtime import Runtime
from occreid.engine.config import load_config
from occreid.engine.data import MEAN, STD, load_split
from occreid.engine.evaluate import embed_split, retrieval_metrics
from occreid.engine.metrics import Embedded
from occreid.model.rfcnet import RFCOutput


class MeanColour(nn.Module):
    """Embedding = the clip's mean normalised colour: a model whose answer we can compute."""

    feature_dim = 3

    def forward(self, clips: torch.Tensor) -> RFCOutput:
        colour = clips.mean(dim=(1, 3, 4))
        return RFCOutput(colour, colour, None)


def test_tracklet_feature_is_the_mean_of_its_loop_padded_clips(toy_dataset):
    dataset, _ = toy_dataset
    split = load_split(dataset, "gallery")
    cfg = load_config(None, ["data.test_clip_len=8", "data.test_batch=3", "data.workers=0"])
    cfg.model.input_size = [32, 16]
    got = embed_split(MeanColour(), split, cfg, Runtime.create("cpu"))
    t = split.tracklets.iloc[int(np.argmax(split.tracklets["length"].to_numpy() % 8))]
    assert t["length"] % 8, "need a tracklet whose last clip is padded"
    frames = []
    for rel in split.frames["path"].iloc[t["start"] : t["stop"]]:
        image = cv2.cvtColor(cv2.imread(str(split.root / rel)), cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, (16, 32), interpolation=cv2.INTER_LINEAR)
        frames.append((image.astype(np.float64) / 255 - MEAN) / STD)
    frames = np.stack(frames)
    n = len(frames)
    clips = [np.resize(np.arange(s, min(s + 8, n)), 8) for s in range(0, n, 8)]
    expected = np.mean([frames[c].mean(axis=(0, 1, 2)) for c in clips], axis=0)
    expected /= np.linalg.norm(expected)
    index = int(np.flatnonzero(split.tracklets["tracklet"].to_numpy() == t["tracklet"])[0])
    assert np.allclose(got.features[index].numpy(), expected, atol=1e-4)
    assert np.allclose(got.features.norm(dim=1).numpy(), 1, atol=1e-5)


def test_retrieval_uses_cosine_and_ignores_same_camera_matches():
    q = Embedded(torch.tensor([[1.0, 0.0]]), np.array([1]), np.array([0]))
    g_feats = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0]]), dim=1
    )
    # gallery 0 is the same person in the same camera (ignored); 1 another person; 2 the match
    g = Embedded(g_feats, np.array([1, 2, 1, 3]), np.array([0, 1, 1, 1]))
    m = retrieval_metrics(q, g, max_rank=3)
    assert m["rank1"] == 0.0 and m["rank5"] == 1.0 and m["mAP"] == 0.5
    assert m["queries"] == 1 and m["queries_skipped"] == 0
