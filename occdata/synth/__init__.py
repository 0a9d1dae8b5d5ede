"""`occreid synth`: a toy DukeMTMC-VideoReID with exact ground truth, small enough for a laptop CPU.

What makes it hard the way the paper describes: identities come in groups that share head and
upper body and differ only below the waist, so an occluder that hides the legs hides exactly what
tells group-mates apart; cameras change brightness, colour cast, scale and background; vehicles
and low walls cover the lower body, poles and trees a vertical strip, other people cross the crop
(two-person frames); each occluder enters and leaves over the frames of a tracklet. Query /
gallery follow DukeMTMC-VideoReID: test identities disjoint from train, one query tracklet each,
distractor identities in one gallery camera only.

The steps, a module each: config (the options), plan (identities, looks, cameras, tracklets),
occluders (the table of obstacle kinds), motion (the walk of a tracklet), person and render (one
frame and its ground truth), write (the job: plan -> motion -> render -> write).
"""

from occreid.occdata.synth.config import SynthConfig
from occreid.occdata.synth.write import synthesize

__all__ = ["SynthConfig", "synthesize"]
