"""Pose keypoints and person masks for every frame (backends, batched runner, label cache).

Filled by the pseudolabel work; the namespace exists so that the package layout is fixed.
"""
