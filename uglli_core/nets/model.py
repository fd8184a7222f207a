"""The UGLLI network: stacked hourglasses, a ReLU mean estimator on every heatmap and
one Cholesky Estimator Network (CEN) shared by all hourglasses."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import IMAGENET_MEAN, IMAGENET_STD, TAPS, PyramidEncoder

MEAN_ESTIMATORS = ("relu", "softargmax", "tau_softargmax")
ENCODERS = ("stem", "mobilenet_v2")


@dataclass
class ModelConfig:
    n_landmarks: int = 68
    n_stacks: int = 2
    channels: int = 128
    input_size: int = 128          # crop side in pixels
    heatmap_size: int = 32         # input_size / 4
    hourglass_depth: int = 3       # 32 → 4×4 bottleneck, as the paper's 128×4×4 CEN input
    mean_estimator: str = "relu"   # the paper's choice; the others are for its ablation
    temperature: float = 1.0       # for tau_softargmax
    diag_floor: float = 0.05       # added to ELU + 1 on L's diagonal (crop pixels)
    heatmap_bias: float = 0.1      # positive initial bias so the ReLU is not dead at start
    # "stem": convolutions trained from scratch, hourglasses at the heatmap size.
    # "mobilenet_v2": an ImageNet-pretrained pyramid (uglli_core.nets.encoder); hourglasses
    # at input/8, heads upsampled to input/4 with the encoder's stride-4 detail.
    encoder: str = "stem"
    head_channels: int = 64        # width of the upsampling heads (mobilenet_v2)

    def __post_init__(self):
        if self.mean_estimator not in MEAN_ESTIMATORS:
            raise ValueError(f"mean_estimator must be one of {MEAN_ESTIMATORS}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}")
        if self.encoder == "mobilenet_v2" and self.input_size != 4 * self.heatmap_size:
            raise ValueError("with the mobilenet_v2 encoder, input_size must be 4 times heatmap_size")
        if self.input_size % self.heatmap_size or self.input_size // self.heatmap_size not in (2, 4):
            raise ValueError("input_size must be 2 or 4 times heatmap_size")
        if self.hourglass_size % (2 ** self.hourglass_depth):
            raise ValueError("the hourglass size must be divisible by 2 ** hourglass_depth")

    @property
    def hourglass_size(self) -> int:
        """Side of the hourglasses' feature maps."""
        return self.input_size // 8 if self.encoder == "mobilenet_v2" else self.heatmap_size


class Residual(nn.Module):
    """Pre-activation bottleneck block (BN-ReLU-conv), as in stacked hourglasses."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        mid = c_out // 2
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, c_out, 1),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        return self.skip(x) + self.body(x)


class Hourglass(nn.Module):
    """Recursive U-shaped block; returns the output and its bottleneck features."""

    def __init__(self, depth: int, channels: int):
        super().__init__()
        self.skip = Residual(channels, channels)
        self.down = Residual(channels, channels)
        self.inner = Hourglass(depth - 1, channels) if depth > 1 else Residual(channels, channels)
        self.up = Residual(channels, channels)

    def forward(self, x):
        low = self.down(F.max_pool2d(x, 2))
        if isinstance(self.inner, Hourglass):
            low, bottleneck = self.inner(low)
        else:
            low = bottleneck = self.inner(low)
        low = self.up(low)
        return self.skip(x) + F.interpolate(low, scale_factor=2, mode="nearest"), bottleneck


class DetailHead(nn.Module):
    """Hourglass features (B, C, H/2, H/2) and the encoder's stride-4 detail
    (B, D, H, H) → heatmaps (B, K, H, H)."""

    def __init__(self, channels: int, detail_channels: int, head_channels: int, n_landmarks: int):
        super().__init__()
        self.lateral = nn.Conv2d(detail_channels, channels, 1)
        self.body = nn.Sequential(nn.Conv2d(channels, head_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(head_channels), nn.ReLU(inplace=True))
        self.out = nn.Conv2d(head_channels, n_landmarks, 1)

    def forward(self, features: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(features, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out(self.body(up + self.lateral(detail)))


class UGLLINet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c, k = config.channels, config.n_landmarks
        if config.encoder == "mobilenet_v2":
            self.encoder = PyramidEncoder(c)
            self.heads = nn.ModuleList(DetailHead(c, TAPS[4][1], config.head_channels, k)
                                       for _ in range(config.n_stacks))
            last_layers = [head.out for head in self.heads]
        else:
            # Downsample to the heatmap resolution before the wide layers: most of the
            # network's cost is per pixel, and inference speed on CPU matters here.
            stem_stride = config.input_size // config.heatmap_size  # 4 (or 2)
            stem = [nn.Conv2d(3, c // 2, 7, stride=2, padding=3), nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
            if stem_stride == 4:
                stem.append(nn.MaxPool2d(2))
            stem += [Residual(c // 2, c), Residual(c, c)]
            self.stem = nn.Sequential(*stem)
            self.heads = nn.ModuleList(nn.Conv2d(c, k, 1) for _ in range(config.n_stacks))
            last_layers = list(self.heads)
        self.hourglasses = nn.ModuleList(Hourglass(config.hourglass_depth, c) for _ in range(config.n_stacks))
        self.features = nn.ModuleList(
            nn.Sequential(Residual(c, c), nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
            for _ in range(config.n_stacks))
        self.merge_features = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(config.n_stacks - 1))
        self.merge_heatmaps = nn.ModuleList(nn.Conv2d(k, c, 1) for _ in range(config.n_stacks - 1))
        bottleneck = config.hourglass_size // 2 ** config.hourglass_depth
        self.cen = nn.Linear(c * bottleneck * bottleneck, 3 * k)  # shared by all hourglasses
        for layer in last_layers:
            nn.init.constant_(layer.bias, config.heatmap_bias)
        nn.init.normal_(self.cen.weight, std=1e-3)
        nn.init.zeros_(self.cen.bias)
        # Heatmap cell centres in crop pixels.
        step = config.input_size / config.heatmap_size
        grid = (torch.arange(config.heatmap_size, dtype=torch.float32) + 0.5) * step - 0.5
        self.register_buffer("grid", grid, persistent=False)
        # the dtype the layers compute in under autocast, None: float32. The spatial mean,
        # the CEN and the Cholesky factor always compute in float32 (nets.device.compute_dtype).
        self.compute_dtype: torch.dtype | None = None

    def forward(self, images: torch.Tensor, detach_cen: bool = False, last_only: bool = False):
        """images (B, 3, S, S) in [0, 1] → list over hourglasses of dicts with
        ``heatmaps`` (B, 68, H, H), ``means`` (B, 68, 2) and ``chol`` (B, 68, 2, 2),
        means and Cholesky factors in crop pixels, all float32. ``last_only``: the last
        hourglass's dict alone (what inference reads), without the others' means and factors."""
        with torch.autocast(images.device.type, dtype=self.compute_dtype or torch.bfloat16,
                            enabled=self.compute_dtype is not None):
            return self._forward(images, detach_cen, last_only)

    def _forward(self, images: torch.Tensor, detach_cen: bool, last_only: bool) -> list[dict]:
        if self.config.encoder == "mobilenet_v2":
            x, detail = self.encoder(imagenet_normalise(images))  # (B, C, S/8, S/8), (B, 24, S/4, S/4)
        else:
            x, detail = self.stem(normalise(images)), None
        outputs = []
        for i, hourglass in enumerate(self.hourglasses):
            y, bottleneck = hourglass(x)
            y = self.features[i](y)
            heatmaps = self.heads[i](y) if detail is None else self.heads[i](y, detail)  # (B, 68, H, H)
            last = i == len(self.hourglasses) - 1
            if last or not last_only:
                cen_in = bottleneck.flatten(1).float()            # (B, C·b·b)
                if detach_cen:
                    cen_in = cen_in.detach()
                heatmaps32 = heatmaps.float()                     # (B, 68, H, H), one copy when bf16
                with torch.autocast(images.device.type, enabled=False):   # the maths in float32
                    outputs.append({
                        "heatmaps": heatmaps32,
                        "means": self.spatial_mean(heatmaps32),   # (B, 68, 2)
                        "chol": self.cholesky(self.cen(cen_in)),  # (B, 68, 2, 2)
                    })
            if not last:
                if heatmaps.shape[-1] != y.shape[-1]:                 # heads at twice the hourglass size
                    heatmaps = F.avg_pool2d(heatmaps, 2)
                x = x + self.merge_features[i](y) + self.merge_heatmaps[i](heatmaps)
        return outputs

    def spatial_mean(self, heatmaps: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) → (B, K, 2) weighted spatial mean in crop pixels."""
        flat = heatmaps.flatten(2)                                  # (B, K, H·W)
        if self.config.mean_estimator == "relu":
            weights = F.relu(flat)
        elif self.config.mean_estimator == "softargmax":
            weights = F.softmax(flat, dim=-1)
        else:
            weights = F.softmax(flat / self.config.temperature, dim=-1)
        weights = weights.view_as(heatmaps)
        wx, wy = weights.sum(dim=2), weights.sum(dim=3)             # (B, K, W), (B, K, H)
        total = wx.sum(-1)                                          # (B, K)
        # A heatmap with no positive value gives the crop centre, not 0/0.
        eps, centre = 1e-6, (self.config.input_size - 1) / 2.0
        mx = ((wx * self.grid).sum(-1) + eps * centre) / (total + eps)
        my = ((wy * self.grid).sum(-1) + eps * centre) / (total + eps)
        return torch.stack([mx, my], dim=-1)

    def cholesky(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, 3K) CEN output → (B, K, 2, 2) lower-triangular L with positive diagonal."""
        a, b, c = raw.view(raw.shape[0], -1, 3).unbind(-1)          # (B, K) each
        floor = self.config.diag_floor
        l11, l22 = F.elu(a) + 1.0 + floor, F.elu(c) + 1.0 + floor
        zero = torch.zeros_like(b)
        return torch.stack([torch.stack([l11, zero], -1), torch.stack([b, l22], -1)], -2)


def covariance(chol: torch.Tensor) -> torch.Tensor:
    """(…, 2, 2) L → Σ = L Lᵀ."""
    return chol @ chol.transpose(-1, -2)


def normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - 0.5) / 0.25


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) in [0, 1] → the statistics the ImageNet weights were trained with."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return torch.addcmul(-mean / std, images, 1 / std)   # (x − μ) / σ in one pass: 3× faster channels-last


def fold_batch_norms(network: nn.Module) -> nn.Module:
    """For inference, in place: every BatchNorm2d that directly follows a Conv2d in a
    Sequential is folded into that convolution, y = γ (W x + b − μ) / √(σ² + ε) + β,
    and replaced by Identity. ``network`` must be in eval mode (the running statistics
    are what is folded); it computes the same function, to float rounding, with one
    pass over memory less per folded layer (measured: about 15% of a face's time)."""
    for sequence in [m for m in network.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(sequence) - 1):
            conv, norm = sequence[i], sequence[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.affine:
                sequence[i], sequence[i + 1] = _folded(conv, norm), nn.Identity()
    return network


@torch.no_grad()
def _folded(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)                   # (C_out,)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                       conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)
    folded.weight.copy_(conv.weight * scale[:, None, None, None])                  # (C_out, C_in/g, k, k)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    folded.bias.copy_((bias - norm.running_mean) * scale + norm.bias)
    return folded.eval()
