"""Perceptual metrics: Frechet distance maths, the FID/LPIPS pipelines with stand-in networks, weights
lookup, and the 'unavailable' path (value None, reason, one message per cause). The real networks are
only exercised (with random weights) when torchvision and lpips are installed."""

from __future__ import annotations

import logging
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from fresco.metrics import SCORE_KEYS, quality_metrics, score
from fresco.metrics import perceptual as perc
from fresco.metrics.perceptual import (
    ALEXNET_WEIGHTS_FILE,
    INCEPTION_WEIGHTS_FILE,
    PerceptualMetrics,
    feature_statistics,
    find_weights,
    frechet_distance,
    weights_search_dirs,
)

RGB = (0, 1, 2)


@pytest.fixture(autouse=True)
def _fresh_message_log(monkeypatch, tmp_path):
    """Each test starts with no causes reported and an empty, private torch hub folder."""
    perc._REPORTED_CAUSES.clear()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    yield
    perc._REPORTED_CAUSES.clear()


@pytest.fixture
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    gt = rng.random((24, 20, 5))
    est = np.clip(gt + 0.2 * rng.standard_normal(gt.shape), 0, 1)
    return est, gt


def _absent(*names: str):
    """An `_import_optional` stand-in for which the named packages are not installed."""

    def fake(name: str):
        if name.split(".")[0] in names:
            raise ModuleNotFoundError(f"No module named '{name}'")
        return types.ModuleType(name)

    return fake


# ------------------------------------------------------------------------ Frechet distance
def test_frechet_identical_statistics_is_zero() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    sigma = a @ a.T + np.eye(5)
    mu = rng.standard_normal(5)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_frechet_1d_closed_form() -> None:
    # N(1, 2^2) vs N(3, 0.5^2): (mu1 - mu2)^2 + (s1 - s2)^2 = 4 + 2.25
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[0.25]])) == (
        pytest.approx(6.25)
    )
    assert frechet_distance(1.0, 4.0, 3.0, 0.25) == pytest.approx(6.25)  # scalars are accepted too


def test_frechet_diagonal_and_scaled_covariances() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)
    # sigma2 = c^2 sigma1  ->  (1 - c)^2 tr(sigma1)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 4))
    sigma = a @ a.T + 0.1 * np.eye(4)
    c = 3.0
    assert frechet_distance(np.zeros(4), sigma, np.zeros(4), c**2 * sigma) == pytest.approx(
        (1 - c) ** 2 * np.trace(sigma)
    )


def test_frechet_singular_covariances_stay_finite() -> None:
    rng = np.random.default_rng(2)
    feats1, feats2 = rng.standard_normal((4, 10)), rng.standard_normal((4, 10)) + 1.0  # n < d
    value = frechet_distance(*feature_statistics(feats1), *feature_statistics(feats2))
    assert np.isfinite(value) and value > 0
    same = frechet_distance(*feature_statistics(feats1), *feature_statistics(feats1))
    assert same == pytest.approx(0.0, abs=1e-4)


def test_frechet_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="means"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_feature_statistics() -> None:
    rng = np.random.default_rng(3)
    feats = rng.standard_normal((50, 3))
    mu, sigma = feature_statistics(feats)
    np.testing.assert_allclose(mu, feats.mean(axis=0))
    np.testing.assert_allclose(sigma, np.cov(feats.T))
    _, sigma1 = feature_statistics(feats[:, :1])
    assert sigma1.shape == (1, 1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        feature_statistics(feats[:1])


# ------------------------------------------------------------------------ FID pipeline (stand-in net)
class _RecordingExtractor:
    """Fixed random projection of each crop to 6 features; remembers every batch it saw."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.weights: torch.Tensor | None = None
        self.gen = gen
        self.batches: list[torch.Tensor] = []

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        self.batches.append(batch.clone())
        flat = batch.reshape(len(batch), -1).double()
        if self.weights is None:
            self.weights = torch.randn(flat.shape[1], 6, generator=self.gen, dtype=torch.float64)
        return torch.tanh(flat @ self.weights / flat.shape[1] ** 0.5)


def _small_fid(**kwargs) -> PerceptualMetrics:
    params = {"fid_crops": 12, "fid_crop_size": 8, "fid_repeats": 2, "fid_batch_size": 5, "seed": 0}
    return PerceptualMetrics(**{**params, **kwargs})


def test_fid_pipeline_identical_is_zero_and_different_is_positive(images) -> None:
    est, gt = images
    metrics = _small_fid()
    assert metrics._fid_with(_RecordingExtractor(), gt, gt, RGB) == pytest.approx(0.0, abs=1e-9)
    assert metrics._fid_with(_RecordingExtractor(), est, gt, RGB) > 0.01


def test_fid_is_not_reported_when_crops_barely_move(images) -> None:
    """A 24x20 image with 16-pixel crops has 9*5 = 45 distinct positions: below the minimum of 100
    the crop statistics are degenerate, so the value is None with the reason, not a number."""
    est, gt = images
    metrics = _small_fid(fid_crop_size=16)
    assert metrics._fid_with(_RecordingExtractor(), est, gt, RGB) is None
    assert "45 distinct" in metrics.last_reasons["fid"]
    assert _small_fid(fid_crop_size=16, fid_min_positions=45)._fid_with(_RecordingExtractor(), est, gt, RGB) > 0


def test_fid_pipeline_crops_batches_and_normalisation(images) -> None:
    est, gt = images
    extractor = _RecordingExtractor()
    _small_fid()._fid_with(extractor, est, gt, RGB)
    # 2 repeats x 2 images x ceil(12 / 5) batches of (n, 3, 8, 8)
    assert len(extractor.batches) == 2 * 2 * 3
    assert [len(b) for b in extractor.batches[:3]] == [5, 5, 2]
    assert extractor.batches[0].shape[1:] == (3, 8, 8)
    # each crop set is min-max normalised as a whole, then (x - 0.5) / 0.5: spans exactly [-1, 1]
    crop_set = torch.cat(extractor.batches[:3])
    assert crop_set.min().item() == pytest.approx(-1.0) and crop_set.max().item() == pytest.approx(1.0)


def test_fid_is_seeded_and_independent_of_batch_size(images) -> None:
    est, gt = images
    first = _small_fid()._fid_with(_RecordingExtractor(), est, gt, RGB)
    again = _small_fid(fid_batch_size=12)._fid_with(_RecordingExtractor(), est, gt, RGB)
    other_seed = _small_fid(seed=1)._fid_with(_RecordingExtractor(), est, gt, RGB)
    assert first == pytest.approx(again, rel=1e-9)
    assert first != other_seed


def test_fid_image_smaller_than_crop_is_none_with_reason(images, caplog) -> None:
    est, gt = images
    metrics = _small_fid(fid_crop_size=30)
    with caplog.at_level(logging.WARNING, logger=perc.__name__):
        assert metrics._fid_with(_RecordingExtractor(), est, gt, RGB) is None
    assert "smaller than the 30x30 crop size" in metrics.last_reasons["fid"]
    assert "smaller than the 30x30" in caplog.text


def test_bad_rgb_bands(images) -> None:
    est, gt = images
    with pytest.raises(ValueError, match="out of range"):
        _small_fid()._fid_with(_RecordingExtractor(), est, gt, (0, 1, 9))
    with pytest.raises(ValueError, match="3 band indices"):
        _small_fid()._fid_with(_RecordingExtractor(), est, gt, (0, 1))


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="fid_crops"):
        PerceptualMetrics(fid_crops=1)


# ------------------------------------------------------------------------ LPIPS pipeline (stand-in net)
def test_lpips_pipeline_maps_to_minus1_1_and_clips(images) -> None:
    _, gt = images
    gt = np.pad(gt, ((0, 16), (0, 16), (0, 0)))  # 40x36: above AlexNet's 31-pixel minimum
    est = gt.copy()
    est[0, 0, :] = 7.0  # clipped to 1 before scoring
    seen = []

    def fake_model(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append((a, b))
        return (a - b).abs().mean().reshape(1, 1, 1, 1)

    value = PerceptualMetrics()._lpips_with(fake_model, est, gt, RGB)
    a, b = seen[0]
    assert a.shape == b.shape == (1, 3, 40, 36) and a.dtype == torch.float32
    assert a.max().item() == pytest.approx(1.0) and a.min().item() >= -1.0
    torch.testing.assert_close(b[0], torch.from_numpy(2 * gt[..., :3].transpose(2, 0, 1) - 1).float())
    assert isinstance(value, float) and value > 0


def test_lpips_small_image_is_none(images) -> None:
    est, gt = images  # 24x20 < 31
    metrics = PerceptualMetrics()
    assert metrics._lpips_with(lambda a, b: a, est, gt, RGB) is None
    assert "smaller than AlexNet's minimum" in metrics.last_reasons["lpips"]


def test_alexnet_features_are_copied_into_lpips_slices() -> None:
    # A miniature of torchvision's `alexnet().features` and of lpips' split of it into slices that
    # keep each layer's index as module name (features.3 -> slice2.3).
    nn = torch.nn
    features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 5, 3), nn.ReLU())
    net = torch.nn.Module()
    net.slice1 = torch.nn.Sequential()
    net.slice1.add_module("0", torch.nn.Conv2d(3, 4, 3))
    net.slice1.add_module("1", torch.nn.ReLU())
    net.slice2 = torch.nn.Sequential()
    net.slice2.add_module("2", torch.nn.MaxPool2d(2))
    net.slice2.add_module("3", torch.nn.Conv2d(4, 5, 3))
    net.slice2.add_module("4", torch.nn.ReLU())
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(2, 2)  # the classifier is not part of LPIPS: ignored
    perc._load_alexnet_features(net, state)
    torch.testing.assert_close(net.slice1[0].weight, features[0].weight)
    torch.testing.assert_close(net.slice2[1].bias, features[3].bias)
    del state["features.3.bias"]
    with pytest.raises(KeyError, match=r"features\.3\.bias"):
        perc._load_alexnet_features(net, state)


# ------------------------------------------------------------------------ weights lookup
@pytest.mark.parametrize("sub", ["", "hub/checkpoints", "checkpoints"])
def test_find_weights_in_user_dir(tmp_path, sub) -> None:
    folder = tmp_path / "weights" / sub
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ALEXNET_WEIGHTS_FILE).write_bytes(b"x")
    assert find_weights(ALEXNET_WEIGHTS_FILE, tmp_path / "weights") == folder / ALEXNET_WEIGHTS_FILE
    assert find_weights(INCEPTION_WEIGHTS_FILE, tmp_path / "weights") is None


def test_find_weights_in_torch_home(tmp_path) -> None:
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    assert weights_search_dirs()[-1] == hub
    assert weights_search_dirs(tmp_path / "w")[:1] == [tmp_path / "w"]
    hub.mkdir(parents=True)
    (hub / INCEPTION_WEIGHTS_FILE).write_bytes(b"x")
    assert find_weights(INCEPTION_WEIGHTS_FILE) == hub / INCEPTION_WEIGHTS_FILE
    assert find_weights(INCEPTION_WEIGHTS_FILE, tmp_path / "elsewhere") == hub / INCEPTION_WEIGHTS_FILE


# ------------------------------------------------------------------------ unavailable: None + one message
def test_missing_packages_give_none_reason_and_one_message(monkeypatch, images, caplog) -> None:
    monkeypatch.setattr(perc, "_import_optional", _absent("torchvision", "lpips"))
    est, gt = images
    with caplog.at_level(logging.WARNING, logger=perc.__name__):
        for _ in range(2):  # a second instance must not repeat the message
            metrics = PerceptualMetrics()
            assert metrics.compute(est, gt, RGB) == {"lpips": None, "fid": None}
            assert metrics.lpips(est, gt, RGB) is None
    reasons = metrics.availability()
    for key in ("lpips", "fid"):
        assert "torchvision" in reasons[key] and "pip install 'fresco[perceptual]'" in reasons[key]
        assert metrics.last_reasons[key] == reasons[key]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 == len(set(messages))  # one per cause (lpips, fid), emitted once
    assert any(m.startswith("lpips unavailable") for m in messages)
    assert any(m.startswith("fid unavailable") for m in messages)


def test_missing_lpips_only_affects_lpips(monkeypatch) -> None:
    monkeypatch.setattr(perc, "_import_optional", _absent("lpips"))
    reasons = PerceptualMetrics().availability()
    assert "'lpips' is not installed" in reasons["lpips"]
    assert "'lpips'" not in reasons["fid"]  # fid is blocked by its own (missing weights) cause
    assert INCEPTION_WEIGHTS_FILE in reasons["fid"]


def test_missing_weights_give_none_and_name_the_file(monkeypatch, tmp_path, images, caplog) -> None:
    monkeypatch.setattr(perc, "_import_optional", _absent())  # packages "installed"
    est, gt = images
    with caplog.at_level(logging.WARNING, logger=perc.__name__):
        metrics = PerceptualMetrics(weights_dir=tmp_path / "my_weights")
        assert metrics.compute(est, gt, RGB) == {"lpips": None, "fid": None}
        metrics.compute(est, gt, RGB)
    reasons = metrics.availability()
    assert ALEXNET_WEIGHTS_FILE in reasons["lpips"] and INCEPTION_WEIGHTS_FILE in reasons["fid"]
    assert str(tmp_path / "my_weights") in reasons["fid"]
    assert "hub/checkpoints" in reasons["fid"]
    assert len(caplog.records) == 2


def test_unbuildable_network_gives_none(monkeypatch, tmp_path, images, caplog) -> None:
    # the stand-in torchvision has no inception_v3, and the file is no checkpoint: building fails
    monkeypatch.setattr(perc, "_import_optional", _absent())
    (tmp_path / INCEPTION_WEIGHTS_FILE).write_bytes(b"not a checkpoint")
    metrics = PerceptualMetrics(weights_dir=tmp_path)
    assert metrics.availability()["fid"] is None
    est, gt = images
    with caplog.at_level(logging.WARNING, logger=perc.__name__):
        assert metrics.fid(est, gt, RGB) is None
    assert "could not build the network" in metrics.availability()["fid"]
    assert "could not build" in caplog.text


def test_disabled_is_silent(images, caplog) -> None:
    est, gt = images
    metrics = PerceptualMetrics(enabled=False)
    with caplog.at_level(logging.WARNING, logger=perc.__name__):
        assert metrics.compute(est, gt, RGB) == {"lpips": None, "fid": None}
    assert "disabled" in metrics.availability()["lpips"]
    assert caplog.records == []


def test_import_does_not_pull_in_the_perceptual_stack() -> None:
    code = "import sys, fresco.metrics; print(any(m in sys.modules for m in ('torchvision', 'lpips')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------ score()
def test_score_without_perceptual(images) -> None:
    est, gt = images
    scores = score(est, gt, 4)
    assert tuple(scores) == SCORE_KEYS
    assert scores["lpips"] is None and scores["fid"] is None
    assert {k: scores[k] for k in quality_metrics(est, gt, 4)} == quality_metrics(est, gt, 4)


def test_score_with_unavailable_perceptual_and_missing_rgb_bands(monkeypatch, images) -> None:
    monkeypatch.setattr(perc, "_import_optional", _absent("torchvision", "lpips"))
    est, gt = images
    metrics = PerceptualMetrics()
    assert score(est, gt, 4, RGB, metrics)["fid"] is None
    called = []
    monkeypatch.setattr(metrics, "compute", lambda *a: called.append(a) or {"lpips": 1.0, "fid": 2.0})
    assert score(est, gt, 4, None, metrics)["lpips"] is None  # no display bands: not computed
    assert called == []
    assert score(est, gt, 4, RGB, metrics)["fid"] == 2.0


# ------------------------------------------------------------------------ the real networks
@pytest.mark.perceptual
def test_real_networks_with_random_weights(tmp_path) -> None:
    pytest.importorskip("lpips")
    models = pytest.importorskip("torchvision.models")
    torch.manual_seed(0)
    torch.save(models.alexnet(weights=None).state_dict(), tmp_path / ALEXNET_WEIGHTS_FILE)
    # init_weights=True: torch's default init makes the random Inception's pooled features collapse to
    # ~0, so every FID would be ~0 and the test could not fail; the truncated-normal init does not.
    inception = models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    torch.save(inception.state_dict(), tmp_path / INCEPTION_WEIGHTS_FILE)

    rng = np.random.default_rng(0)
    gt = rng.random((96, 90, 4)).astype(np.float32)
    est = np.clip(gt + 0.3 * rng.standard_normal(gt.shape), 0, 1).astype(np.float32)
    metrics = PerceptualMetrics(weights_dir=tmp_path, fid_crops=8, fid_repeats=1, fid_batch_size=4)
    assert metrics.availability() == {"lpips": None, "fid": None}

    assert metrics.lpips(gt, gt, RGB) == pytest.approx(0.0, abs=1e-6)
    assert metrics.lpips(est, gt, RGB) > 0
    fid_diff = metrics.fid(est, gt, RGB)
    fid_same = metrics.fid(gt, gt, RGB)
    assert fid_diff is not None and fid_same is not None
    assert fid_same == pytest.approx(0.0, abs=1e-6 * fid_diff)
    assert fid_diff > 1e-3
