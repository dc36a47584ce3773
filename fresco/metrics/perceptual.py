"""Perceptual metrics (LPIPS, FID) computed offline from locally stored pretrained weights.

Both metrics look at 3 display bands (``rgb_bands``) of ``(rows, cols, bands)`` images in ``[0, 1]``.

* **LPIPS**: AlexNet LPIPS v0.1 (the ``lpips`` package) on the whole image, inputs mapped to
  ``[-1, 1]``. The AlexNet backbone needs torchvision's ImageNet weights
  :data:`ALEXNET_WEIGHTS_FILE`; the v0.1 linear heads ship inside the ``lpips`` package.
* **FID**: torchvision Inception-v3 (:data:`INCEPTION_WEIGHTS_FILE`), 2048-d pooled features of
  ``fid_crops`` random ``fid_crop_size`` x ``fid_crop_size`` crops, Frechet distance between the
  feature sets of estimate and ground truth, averaged over ``fid_repeats`` fresh draws of crops.

Nothing is ever downloaded: the weights are looked up (see :func:`weights_search_dirs`) in a
user-given ``weights_dir`` and in torch's hub cache (``$TORCH_HOME/hub/checkpoints``). When the
optional packages (``pip install 'fresco[perceptual]'``) or a weights file are missing, the metric's
value is ``None`` (never 0, never a number from another network) and one message per cause is
logged per process. ``import fresco.metrics`` never imports torchvision or lpips; torch itself is
imported only when a perceptual metric is actually computed.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

from fresco.ops.checks import check_image
from fresco.progress import track

__all__ = [
    "ALEXNET_WEIGHTS_FILE",
    "INCEPTION_WEIGHTS_FILE",
    "PerceptualMetrics",
    "feature_statistics",
    "find_weights",
    "frechet_distance",
    "weights_search_dirs",
]

logger = logging.getLogger(__name__)

#: torchvision's ImageNet AlexNet weights (``AlexNet_Weights.IMAGENET1K_V1``); LPIPS' backbone.
ALEXNET_WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"
#: torchvision's ImageNet Inception-v3 weights (``Inception_V3_Weights.IMAGENET1K_V1``); FID's network.
INCEPTION_WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"
_WEIGHTS_URL = "https://download.pytorch.org/models/"
_INSTALL_HINT = "pip install 'fresco[perceptual]'"

#: Subfolders of a user ``weights_dir`` that are searched besides the folder itself (torch's layout).
WEIGHTS_SUBDIRS = ("", "hub/checkpoints", "checkpoints")
#: Smallest image side AlexNet's five LPIPS layers accept: conv1 (k11, s4, p2) and two 3x3/2
#: max-pools must leave at least one pixel for conv3-5 (a 31-pixel side leaves exactly one).
LPIPS_MIN_SIZE = 31
#: Display bands are mapped from [0, 1] to [-1, 1] for LPIPS: x * scale + shift.
LPIPS_INPUT_SCALE, LPIPS_INPUT_SHIFT = 2.0, -1.0
#: After the batch min-max normalisation to [0, 1], FID crops are normalised with this mean and std.
FID_NORM_MEAN, FID_NORM_STD = 0.5, 0.5
#: Diagonal offset added to both covariances when sqrtm of their product is not finite (as in
#: pytorch-fid); covariances of fewer crops than feature dimensions are singular.
FRECHET_EPS = 1e-6
#: Number of display bands both metrics look at.
N_DISPLAY_BANDS = 3

# Causes already reported in this process (one message per cause, not per image).
_REPORTED_CAUSES: set[str] = set()


def _report_once(cause: str) -> None:
    """Log ``cause`` as a warning the first time it is seen in this process."""
    if cause not in _REPORTED_CAUSES:
        _REPORTED_CAUSES.add(cause)
        logger.warning(cause)


def _import_optional(name: str) -> Any:
    """Import an optional dependency (a separate function so tests can simulate its absence)."""
    return importlib.import_module(name)


# ------------------------------------------------------------------------------ weights lookup
def weights_search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for pretrained weights files, in order.

    Args:
        weights_dir: an optional user folder; searched first, as ``weights_dir/``,
            ``weights_dir/hub/checkpoints/`` and ``weights_dir/checkpoints/``.

    Returns:
        The user folders (if any) followed by torch's hub cache ``torch.hub.get_dir()/checkpoints``
        (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``).
    """
    dirs: list[Path] = []
    if weights_dir is not None:
        root = Path(weights_dir).expanduser()
        dirs.extend(root / sub if sub else root for sub in WEIGHTS_SUBDIRS)
    import torch  # a core dependency, imported lazily to keep `import fresco.metrics` light

    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    return dirs


def find_weights(file_name: str, weights_dir: str | Path | None = None) -> Path | None:
    """Path of the first ``file_name`` found in :func:`weights_search_dirs`, else ``None``."""
    for folder in weights_search_dirs(weights_dir):
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    return None


def _missing_weights_reason(metric: str, file_name: str, weights_dir: str | Path | None) -> str:
    searched = ", ".join(str(p) for p in weights_search_dirs(weights_dir))
    return (
        f"{metric} unavailable: pretrained weights file '{file_name}' not found (searched: {searched}). "
        f"These machines cannot download it: fetch {_WEIGHTS_URL}{file_name} elsewhere and copy it into "
        f"$TORCH_HOME/hub/checkpoints/ or into the folder given as weights_dir. {metric} is left empty."
    )


# ------------------------------------------------------------------------------ Frechet distance
def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a feature set.

    Args:
        features: ``(n_samples, n_features)``, ``n_samples >= 2``.

    Returns:
        ``mu`` ``(n_features,)`` and ``sigma`` ``(n_features, n_features)`` (unbiased, ``n - 1``),
        both float64.
    """
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(
            f"features must be (n_samples, n_features) with at least 2 samples; got shape {feats.shape}"
        )
    return feats.mean(axis=0), np.cov(feats, rowvar=False).reshape(feats.shape[1], feats.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2))``, with ``scipy.linalg.sqrtm``
    (real part taken; :data:`FRECHET_EPS` is added to the diagonals when the product is too singular
    for a finite square root). Tiny negative results from rounding are returned as 0.

    Args:
        mu1, mu2: means ``(n_features,)``.
        sigma1, sigma2: covariances ``(n_features, n_features)``.

    Returns:
        The distance in squared feature units (FID when the features are Inception pool features).
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    n = mu1.shape[0]
    if mu2.shape != (n,) or sigma1.shape != (n, n) or sigma2.shape != (n, n):
        raise ValueError(
            f"frechet_distance needs means (n,) and covariances (n, n) of one n; got mu1 {mu1.shape}, "
            f"sigma1 {sigma1.shape}, mu2 {mu2.shape}, sigma2 {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(n) * FRECHET_EPS
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    # sqrtm of a product of PSD matrices has real eigenvalues; imaginary parts are rounding noise.
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


# ------------------------------------------------------------------------------ image helpers
def _display_bands(image: np.ndarray, rgb_bands: Sequence[int], name: str) -> np.ndarray:
    """``(rows, cols, 3)`` float32 view of the display bands, with clear errors."""
    arr = check_image(image, name, finite=False)   # finite values are checked on the display bands
    bands = [int(b) for b in rgb_bands]
    if len(bands) != N_DISPLAY_BANDS:
        raise ValueError(f"rgb_bands must list {N_DISPLAY_BANDS} band indices; got {list(rgb_bands)}")
    if any(b < 0 or b >= arr.shape[2] for b in bands):
        raise ValueError(f"rgb_bands {bands} out of range for {name} with {arr.shape[2]} bands")
    out = arr[:, :, bands].astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} has NaN or Inf values in its display bands; clean it before scoring")
    return out


def _pair_display_bands(
    est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Display bands of the clipped estimate and of the ground truth, shape-checked."""
    if np.shape(est) != np.shape(gt):
        raise ValueError(f"est and gt must have the same shape; got {np.shape(est)} and {np.shape(gt)}")
    est_rgb = np.clip(_display_bands(est, rgb_bands, "est"), 0.0, 1.0)
    return est_rgb, _display_bands(gt, rgb_bands, "gt")


#: Fewest distinct crop positions for which FID statistics are reported (10 x 10 offsets).
DEFAULT_FID_MIN_POSITIONS = 100


def _random_crop_corners(
    rng: np.random.Generator, rows: int, cols: int, n_crops: int, crop_size: int
) -> np.ndarray:
    """``(n_crops, 2)`` top-left corners of crops that fit inside a ``rows x cols`` image."""
    tops = rng.integers(0, rows - crop_size + 1, size=n_crops)
    lefts = rng.integers(0, cols - crop_size + 1, size=n_crops)
    return np.stack([tops, lefts], axis=1)


def _crops(image: np.ndarray, corners: np.ndarray, crop_size: int) -> np.ndarray:
    """Stack crops of a ``(rows, cols, 3)`` image into ``(n, 3, crop_size, crop_size)`` float32."""
    out = np.empty((len(corners), image.shape[2], crop_size, crop_size), dtype=np.float32)
    for i, (top, left) in enumerate(corners):
        out[i] = image[top : top + crop_size, left : left + crop_size].transpose(2, 0, 1)
    return out


def _fid_normalise(crops: np.ndarray) -> np.ndarray:
    """Min-max normalise a whole crop set to [0, 1], then ``(x - 0.5) / 0.5`` (spec preprocessing)."""
    lo, hi = float(crops.min()), float(crops.max())
    # A constant crop set has no range to stretch; it is only shifted (to 0) instead of divided by 0.
    scaled = (crops - lo) / (hi - lo) if hi > lo else crops - lo
    return ((scaled - FID_NORM_MEAN) / FID_NORM_STD).astype(np.float32)


# ------------------------------------------------------------------------------ model builders
def _load_alexnet_features(lpips_net: Any, state_dict: dict[str, Any]) -> None:
    """Copy torchvision AlexNet ``features.<i>.*`` weights into lpips' ``slice<k>.<i>`` modules.

    lpips splits ``alexnet().features`` into ``slice1..slice5`` keeping each layer's index as its
    module name, so ``features.3.weight`` becomes ``slice2.3.weight``.

    Raises:
        KeyError: when a parameter of the lpips backbone has no counterpart in ``state_dict``.
    """
    mapped = {}
    for key in lpips_net.state_dict():
        _slice, index, param = key.split(".", 2)
        source = f"features.{index}.{param}"
        if source not in state_dict:
            raise KeyError(f"{source} missing from the AlexNet weights file (needed for lpips {key})")
        mapped[key] = state_dict[source]
    lpips_net.load_state_dict(mapped, strict=True)


def _build_lpips_model(weights_path: Path, device: str) -> Any:
    """AlexNet LPIPS v0.1 with the backbone loaded from ``weights_path``; no download."""
    import torch

    lpips = _import_optional("lpips")
    # pnet_rand=True builds the AlexNet without asking torchvision for (downloaded) weights;
    # pretrained=True still loads the v0.1 linear heads that ship inside the lpips package.
    model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    _load_alexnet_features(model.net, state)
    return model.eval().to(device)


def _build_inception(weights_path: Path, device: str, transform_input: bool) -> Any:
    """torchvision Inception-v3 returning 2048-d pool features; no download."""
    import torch

    models = _import_optional("torchvision.models")
    # aux_logits=True so the checkpoint (which has AuxLogits.*) loads strictly; init_weights=False
    # skips the slow random init that the checkpoint overwrites anyway.
    model = models.inception_v3(
        weights=None, aux_logits=True, init_weights=False, transform_input=transform_input
    )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.aux_logits = False
    model.AuxLogits = None
    model.fc = torch.nn.Identity()
    return model.eval().to(device)


# ------------------------------------------------------------------------------ the metrics
class PerceptualMetrics:
    """LPIPS and FID of an estimate against its ground truth, on 3 display bands.

    Args:
        weights_dir: optional folder holding :data:`ALEXNET_WEIGHTS_FILE` and/or
            :data:`INCEPTION_WEIGHTS_FILE` (directly, or under ``hub/checkpoints/`` or
            ``checkpoints/``); torch's hub cache is searched after it.
        device: torch device for the networks, e.g. ``"cpu"`` or ``"cuda"``.
        fid_crops: random crops per image and repeat (paper: 1000).
        fid_crop_size: crop side in pixels (paper: 80; Inception-v3 needs at least 75).
        fid_repeats: fresh draws of crops whose FIDs are averaged (paper: 3).
        fid_batch_size: crops per forward pass (memory only; results do not depend on it).
        seed: seed of the crop positions (deterministic by default).
        fid_transform_input: passed to torchvision's ``inception_v3``. ``True`` is what torchvision
            sets when it builds the model with its pretrained weights (``pretrained=True``), i.e.
            what "torchvision Inception-v3" means unless stated otherwise.
        enabled: ``False`` turns both metrics off (values ``None``, no messages).

    The networks are built lazily on first use and kept. Values are python floats or ``None``;
    ``None`` always comes with a reason, in :meth:`availability` for missing packages/weights and
    in :attr:`last_reasons` (and the log, once per cause) for per-image problems.
    """

    def __init__(
        self,
        weights_dir: str | Path | None = None,
        device: str = "cpu",
        fid_crops: int = 1000,
        fid_crop_size: int = 80,
        fid_repeats: int = 3,
        fid_batch_size: int = 100,
        seed: int = 0,
        fid_transform_input: bool = True,
        enabled: bool = True,
        fid_min_positions: int = DEFAULT_FID_MIN_POSITIONS,
    ) -> None:
        for name, value, minimum in (
            ("fid_crops", fid_crops, 2),
            ("fid_crop_size", fid_crop_size, 1),
            ("fid_repeats", fid_repeats, 1),
            ("fid_batch_size", fid_batch_size, 1),
        ):
            if int(value) < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
        self.weights_dir = weights_dir
        self.device = device
        self.fid_crops = int(fid_crops)
        self.fid_crop_size = int(fid_crop_size)
        self.fid_repeats = int(fid_repeats)
        self.fid_batch_size = int(fid_batch_size)
        self.seed = int(seed)
        self.fid_transform_input = bool(fid_transform_input)
        self.fid_min_positions = int(fid_min_positions)
        self.enabled = bool(enabled)
        #: Why the last ``lpips`` / ``fid`` call returned ``None`` (``None`` when it returned a value).
        self.last_reasons: dict[str, str | None] = {"lpips": None, "fid": None}
        self._availability: dict[str, str | None] | None = None
        self._lpips_model: Any = None
        self._inception: Any = None

    # -------------------------------------------------------------------- availability
    def availability(self) -> dict[str, str | None]:
        """``{"lpips": reason | None, "fid": reason | None}``: why each metric cannot be computed.

        ``None`` means the packages import and the weights file was found (checked once, cached).
        """
        if self._availability is None:
            self._availability = {"lpips": self._check("lpips"), "fid": self._check("fid")}
        return dict(self._availability)

    def _check(self, metric: str) -> str | None:
        if not self.enabled:
            return f"{metric} disabled (PerceptualMetrics(enabled=False))"
        packages = ("torchvision", "lpips") if metric == "lpips" else ("torchvision",)
        for package in packages:
            try:
                _import_optional(package)
            except ImportError as err:
                return (
                    f"{metric} unavailable: the optional package '{package}' is not installed ({err}). "
                    f"Install the perceptual extra: {_INSTALL_HINT}. {metric} is left empty."
                )
        file_name = ALEXNET_WEIGHTS_FILE if metric == "lpips" else INCEPTION_WEIGHTS_FILE
        if find_weights(file_name, self.weights_dir) is None:
            return _missing_weights_reason(metric, file_name, self.weights_dir)
        return None

    def _unavailable(self, metric: str, reason: str) -> None:
        """Record ``reason`` for ``metric`` and log it once per process (disabled: not logged)."""
        self.last_reasons[metric] = reason
        if self.enabled:
            _report_once(reason)

    def _model(self, metric: str) -> Any:
        """The network for ``metric``, built on first use; ``None`` (reason recorded) if impossible."""
        reason = self.availability()[metric]
        if reason is not None:
            self._unavailable(metric, reason)
            return None
        attr = "_lpips_model" if metric == "lpips" else "_inception"
        if getattr(self, attr) is None:
            file_name = ALEXNET_WEIGHTS_FILE if metric == "lpips" else INCEPTION_WEIGHTS_FILE
            path = find_weights(file_name, self.weights_dir)
            try:
                if metric == "lpips":
                    model = _build_lpips_model(path, self.device)
                else:
                    model = _build_inception(path, self.device, self.fid_transform_input)
            except Exception as err:  # a corrupt or foreign file must not crash a whole run
                reason = (
                    f"{metric} unavailable: could not build the network from {path} "
                    f"({type(err).__name__}: {err}). Check that the file is torchvision's '{file_name}' "
                    "and that the installed torchvision/lpips versions work together."
                )
                self._availability = {**self.availability(), metric: reason}
                self._unavailable(metric, reason)
                return None
            setattr(self, attr, model)
        return getattr(self, attr)

    # -------------------------------------------------------------------- LPIPS
    def lpips(self, est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]) -> float | None:
        """AlexNet LPIPS v0.1 between the display bands of ``est`` (clipped to [0, 1]) and ``gt``.

        Args:
            est, gt: ``(rows, cols, bands)`` in ``[0, 1]``, same shape.
            rgb_bands: the 3 band indices shown as red, green, blue.

        Returns:
            LPIPS distance (unitless, 0 for identical images), or ``None`` when unavailable or the
            image is smaller than :data:`LPIPS_MIN_SIZE` (reason in :attr:`last_reasons`).
        """
        self.last_reasons["lpips"] = None
        model = self._model("lpips")
        if model is None:
            return None
        return self._lpips_with(model, est, gt, rgb_bands)

    def _lpips_with(
        self, model: Callable[[Any, Any], Any], est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]
    ) -> float | None:
        import torch

        est_rgb, gt_rgb = _pair_display_bands(est, gt, rgb_bands)
        rows, cols = gt_rgb.shape[:2]
        if min(rows, cols) < LPIPS_MIN_SIZE:
            self._unavailable(
                "lpips",
                f"lpips skipped: image {rows}x{cols} is smaller than AlexNet's minimum "
                f"{LPIPS_MIN_SIZE}x{LPIPS_MIN_SIZE}",
            )
            return None

        def to_tensor(image: np.ndarray) -> Any:
            scaled = image.transpose(2, 0, 1)[None] * LPIPS_INPUT_SCALE + LPIPS_INPUT_SHIFT
            return torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32)).to(self.device)

        with torch.inference_mode():
            distance = model(to_tensor(est_rgb), to_tensor(gt_rgb))
        return float(distance.reshape(-1)[0])

    # -------------------------------------------------------------------- FID
    def fid(self, est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]) -> float | None:
        """FID between random crops of the display bands of ``est`` (clipped) and of ``gt``.

        Each repeat draws ``fid_crops`` crop positions (seeded, fresh per repeat) and crops both
        images at the same positions, so FID(x, x) is 0. Each crop set is min-max normalised as a
        whole to [0, 1], then to ``(x - 0.5) / 0.5``, and fed to Inception-v3 without resizing.

        Returns:
            The mean FID over repeats (squared feature units), or ``None`` when unavailable or the
            image is smaller than the crop size (reason in :attr:`last_reasons`).
        """
        self.last_reasons["fid"] = None
        model = self._model("fid")
        if model is None:
            return None
        return self._fid_with(model, est, gt, rgb_bands)

    def _fid_with(
        self, extractor: Callable[[Any], Any], est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]
    ) -> float | None:
        """FID with a given feature ``extractor``: ``(n, 3, c, c)`` float tensor -> ``(n, d)``."""
        est_rgb, gt_rgb = _pair_display_bands(est, gt, rgb_bands)
        rows, cols = gt_rgb.shape[:2]
        size = self.fid_crop_size
        if min(rows, cols) < size:
            self._unavailable(
                "fid",
                f"fid skipped: image {rows}x{cols} is smaller than the {size}x{size} crop size "
                "(lower fid_crop_size, at least 75 for Inception-v3)",
            )
            return None
        positions = (rows - size + 1) * (cols - size + 1)
        if positions < self.fid_min_positions:
            # Few distinct crops make the crop "distribution" degenerate (one position: zero
            # covariance, so the value is only a distance of mean features): not FID, so not reported.
            self._unavailable(
                "fid",
                f"fid skipped: a {rows}x{cols} image has only {positions} distinct {size}x{size} crop "
                f"positions (< fid_min_positions={self.fid_min_positions}); FID needs larger images",
            )
            return None
        rng = np.random.default_rng(self.seed)
        values = []
        for _ in track(range(self.fid_repeats), total=self.fid_repeats, description="FID repeats"):
            corners = _random_crop_corners(rng, rows, cols, self.fid_crops, size)
            stats = [
                feature_statistics(self._features(extractor, _fid_normalise(_crops(img, corners, size))))
                for img in (est_rgb, gt_rgb)
            ]
            values.append(frechet_distance(*stats[0], *stats[1]))
        return float(np.mean(values))

    def _features(self, extractor: Callable[[Any], Any], crops: np.ndarray) -> np.ndarray:
        """Run ``extractor`` over ``crops`` in batches of ``fid_batch_size``; ``(n, d)`` float64."""
        import torch

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(crops), self.fid_batch_size):
                batch = torch.from_numpy(crops[start : start + self.fid_batch_size]).to(self.device)
                chunks.append(extractor(batch).reshape(len(batch), -1).double().cpu().numpy())
        return np.concatenate(chunks, axis=0)

    # -------------------------------------------------------------------- both
    def compute(self, est: np.ndarray, gt: np.ndarray, rgb_bands: Sequence[int]) -> dict[str, float | None]:
        """``{"lpips": float | None, "fid": float | None}`` (see :meth:`lpips`, :meth:`fid`)."""
        return {"lpips": self.lpips(est, gt, rgb_bands), "fid": self.fid(est, gt, rgb_bands)}
