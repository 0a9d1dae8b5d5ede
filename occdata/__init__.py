"""Dataset side of occreid: source index, occlusion annotations, re-split, statistics, synth."""
