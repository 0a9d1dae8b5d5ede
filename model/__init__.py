"""RFCnet: ResNet backbone, RFC blocks (APU, foreground extractor, SRFC, TRFC), losses.

Public entry points: ``build_model(ModelConfig, num_classes)``, ``ModelConfig``, ``LossConfig``,
``rfc_losses``.
"""

from occreid.model.config import ModelConfig
from occreid.model.losses import LossConfig, rfc_losses
from occreid.model.rfcnet import RFCNet, RFCOutput, build_model

__all__ = ["LossConfig", "ModelConfig", "RFCNet", "RFCOutput", "build_model", "rfc_losses"]
