"""One run, wired: config -> FusionPair -> method -> estimates -> metrics -> results.

This module only wires; every piece it calls lives in its own package. ``run_experiment`` is what
the Hydra entry point calls for each job; tests call it directly with a composed config.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from fresco import results
from fresco.configs import compose_option
from fresco.data.io import load_pair, save_pair_npz
from fresco.data.pair import FusionPair
from fresco.data.simulate import simulate_pair
from fresco.figures import run_figure
from fresco.loggers import build_loggers, log_run
from fresco.methods.base import PRODUCTS, FusionMethod, MethodOutput
from fresco.metrics import HEADLINE_KEYS, SCORE_KEYS, registration_error, score
from fresco.metrics.perceptual import PerceptualMetrics
from fresco.metrics.quality import quality_metrics
from fresco.training import run_loggers

log = logging.getLogger(__name__)



def instantiate_unwrapped(conf: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that re-raises the target's own error (e.g. a loader's "file not
    found, get it here" message) instead of Hydra's wrapper around its repr."""
    from hydra.errors import InstantiationException

    try:
        return instantiate(conf, **kwargs)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, Exception):
            raise exc.__cause__ from None
        raise


def _warn_unused_groups(groups: tuple[str, ...], why: str) -> None:
    """Warn, naming them, about command-line overrides of config groups that this dataset does not use."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    unused = [o for o in HydraConfig.get().overrides.task if o.lstrip("+~").split("=")[0].split(".")[0] in groups]
    if unused:
        log.warning("%s, so these overrides have no effect: %s", why, " ".join(unused))


def build_pair(cfg: DictConfig) -> FusionPair:
    """The pair of one run, from ``cfg.dataset``:

    * ``dataset.path`` (``dataset=pair_file``): read a ready-made pair (authors' ``.mat`` layout or a
      fresco ``.npz``); the ratio comes from ``dataset.ratio``, the file, or the image shapes;
    * a ``dataset.loader`` that returns a :class:`FusionPair` (``real_pair``, ``paris_hyperion_ali``):
      that pair as it is;
    * a ``dataset.loader`` that returns a scene: simulate the unregistered pair from it with the
      ``srf``, ``degradation``, ``misalignment`` and ``noise`` groups.
    """
    if "loader" not in cfg.dataset:
        if "path" not in cfg.dataset or OmegaConf.is_missing(cfg.dataset, "path"):
            raise ValueError(f"dataset={cfg.dataset.get('name')} needs the pair file: add "
                             "dataset.path=/path/to/PAIR.mat (authors' layout: MSI, HSI, Q[, SRI_M, SRI_H]) or a .npz")
        log.info("reading the pair from %s (the srf, degradation, misalignment and noise groups do not apply)",
                 cfg.dataset.path)
        _warn_unused_groups(("srf", "degradation", "misalignment", "noise"),
                            f"dataset={cfg.dataset.get('name')} reads a ready-made pair")
        return load_pair(cfg.dataset.path, ratio=cfg.dataset.get("ratio"))
    loaded = instantiate_unwrapped(cfg.dataset.loader, _convert_="all")
    if isinstance(loaded, FusionPair):
        log.info("the dataset loader gave a ready pair (the srf and misalignment groups do not apply)")
        _warn_unused_groups(("srf", "misalignment"), f"dataset={cfg.dataset.get('name')} loads a ready pair")
        return loaded
    scene = loaded
    srf = instantiate_unwrapped(cfg.srf, wavelengths=scene.wavelengths, _convert_="all")
    mis = OmegaConf.to_container(cfg.misalignment, resolve=True)
    mis.pop("name", None)
    deg = cfg.degradation
    if isinstance(deg.ratio, bool) or not isinstance(deg.ratio, int | float) or not float(deg.ratio).is_integer() \
            or int(deg.ratio) < 2:
        raise ValueError(f"degradation.ratio must be an integer >= 2 (e.g. 2, 3, 4, 8); got {deg.ratio!r}")
    ratio = int(deg.ratio)
    # The HSI footprint must hold whole coarse pixels: round it down so any ratio works with the
    # dataset's footprint (e.g. 80 -> 78 for ratio 3) instead of failing.
    hsi_shape = tuple(int(n) // ratio * ratio for n in cfg.dataset.footprint.hsi_shape)
    if hsi_shape != tuple(cfg.dataset.footprint.hsi_shape):
        log.warning("HSI footprint %s rounded down to %s, a multiple of the ratio %d",
                    tuple(cfg.dataset.footprint.hsi_shape), hsi_shape, ratio)
    return simulate_pair(
        scene, srf, ratio=ratio,
        msi_shape=tuple(cfg.dataset.footprint.msi_shape), hsi_shape=hsi_shape,
        degradation=deg.kind, sigma=deg.get("sigma"), kernel_size=deg.get("kernel_size"),
        snr_db_hsi=cfg.noise.snr_db_hsi, snr_db_msi=cfg.noise.snr_db_msi,
        seed=int(cfg.seed), name=cfg.dataset.name, **mis,
    )


def score_output(pair: FusionPair, output: MethodOutput, perceptual: Any,
                 references: dict[str, MethodOutput] | None = None) -> dict[str, float | None]:
    """Flat metrics for every product: scored against its ground truth, None where there is none.
    The outputs of the methods run beside it (``references``, from ``method.compare_with``) are scored
    under ``ref.<name>.<product>.<metric>``."""
    truth = {"m_sri": pair.sri_m, "h_sri": pair.sri_h}
    groups: dict[str, dict[str, float | None]] = {}
    outputs = [("", output)] + [(f"ref.{name}.", ref) for name, ref in (references or {}).items()]
    for prefix, out in outputs:
        for key in PRODUCTS:
            est, gt = getattr(out, key), truth[key]
            if est is None or gt is None:
                if not prefix:
                    reason = "the method gives no estimate" if est is None else "the pair has no ground truth"
                    log.info("%s not scored: %s", key, reason)
                groups[prefix + key] = dict.fromkeys(SCORE_KEYS, None)
                continue
            groups[prefix + key] = score(est, gt, pair.ratio, rgb_bands=pair.display_bands(), perceptual=perceptual)
    return results.flatten_metrics(groups)


def score_registration(pair: FusionPair, output: MethodOutput) -> dict[str, float]:
    """``registration.{angle,shift,corner}_error*`` of a method's estimated registration against the
    pair's true one (simulated pairs); empty when either is missing."""
    true = (pair.meta.get("transform") or {}).get("hsi_to_msi")
    if output.registration is None or true is None:
        return {}
    errors = registration_error(output.registration, np.asarray(true), pair.h_sri_shape[:2])
    log.info("registration error: %.2f deg, %.2f px (centre), %.2f px (worst corner)", errors["angle_error_deg"],
             errors["shift_error_px"], errors["corner_error_px"])
    return {f"registration.{k}": v for k, v in errors.items()}


def build_methods(cfg: DictConfig) -> tuple[FusionMethod, dict[str, FusionMethod]]:
    """The run's method and the ones it is compared with (``method.compare_with``), constructed, so that
    every setting is checked (unknown names, wrong types, bad values: the constructors' one message,
    the same as from Python) before any data is loaded or any earlier result removed."""
    import pytorch_lightning as pl

    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int):
        raise ValueError(f"seed must be an integer (e.g. seed=0); got {cfg.seed!r}")
    references_cfg = reference_configs(cfg)
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)   # a constructor may draw weights
    method: FusionMethod = instantiate_unwrapped(method_config(cfg), _convert_="all")
    references = {name: instantiate_unwrapped(method_config(cfg, node), _convert_="all")
                  for name, node in references_cfg.items()}
    return method, references


def reference_configs(cfg: DictConfig) -> dict[str, DictConfig]:
    """The method configs named by ``method.compare_with`` (each a ``method`` config option, composed
    on its own), keyed by their names: the methods the pipeline runs beside the chosen one on the
    same pair. Raises ``ValueError`` for an unknown name before anything runs."""
    names = [str(n) for n in (cfg.method.get("compare_with") or [])]
    if len(set(names)) != len(names):
        raise ValueError(f"method.compare_with names a method twice: {names}")
    if cfg.method.name in names:
        raise ValueError(f"method.compare_with names the method itself ({cfg.method.name}); remove it")
    return {name: compose_option("method", name) for name in names}


def method_config(cfg: DictConfig, node: DictConfig | None = None) -> DictConfig:
    """``node`` (default ``cfg.method``) without the pipeline's own key (``compare_with``), its
    interpolations (``${seed}``, ``${training}``...) resolving against ``cfg``."""
    root = cfg.copy()
    with open_dict(root):
        root.method = cfg.method if node is None else node
        root.method.pop("compare_with", None)
    return root.method


def make_monitor(pair: FusionPair) -> Any:
    """``monitor(product, estimate) -> {psnr, ssim, sam, ergas}`` against the pair's ground truth
    (None when the pair has none). Given to methods for LOGGING progress only."""
    truth = {"m_sri": pair.sri_m, "h_sri": pair.sri_h}
    if all(v is None for v in truth.values()):
        return None

    def monitor(product: str, estimate: Any) -> dict[str, float]:
        if truth.get(product) is None:
            return {}
        scores = quality_metrics(estimate, truth[product], pair.ratio)
        return {f"{product}_{k}": float(v) for k, v in scores.items() if k in HEADLINE_KEYS}

    return monitor


def build_perceptual(cfg: DictConfig) -> Any:
    opts = OmegaConf.to_container(cfg.metrics.perceptual, resolve=True)
    if not opts.pop("enabled", True):
        return None
    return PerceptualMetrics(seed=int(cfg.seed), **opts)


def print_table(metrics: dict[str, float | None], pair: FusionPair, title: str) -> None:
    """Print the M-SRI / H-SRI metric table (rich), with the references' H-SRI columns beside."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    columns = [(key.upper().replace("_", "-"), key) for key in PRODUCTS]
    refs = list(dict.fromkeys(k.split(".")[1] for k in metrics if k.startswith("ref.")))  # compare_with order
    columns += [(f"{name} H-SRI", f"ref.{name}.h_sri") for name in refs]
    for header, _ in columns:
        table.add_column(header, justify="right")
    for name in HEADLINE_KEYS:
        cells = [metrics.get(f"{prefix}.{name}") for _, prefix in columns]
        table.add_row(name.upper() + (" (deg)" if name == "sam" else ""),
                      *("n/a" if v is None else f"{v:.4f}" for v in cells))
    console = Console()
    if not console.is_terminal:  # logs and pipes: print the table unwrapped, whatever the column count
        from rich.measure import Measurement

        natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console.width = max(console.width, natural)
    console.print(table)
    overlap = pair.meta.get("overlap")
    times = {k: v for k, v in metrics.items() if k.startswith("time_s.")}
    if overlap is not None:
        console.print(f"footprint overlap (fraction of the HSI footprint the MSI sees): {overlap:.3f}")
    fit = metrics.get("fit.psnr")
    if fit is not None:
        console.print(f"model fit of the observed images (no ground truth), PSNR: MSI {metrics['fit.msi_psnr']:.2f}, "
                      f"HSI {metrics['fit.hsi_psnr']:.2f}, mean {fit:.2f} dB")
    console.print("time (s): " + ", ".join(f"{k[7:]} {v:.2f}" for k, v in times.items() if v is not None))


def experiment_config_text(cfg: DictConfig) -> str:
    """The resolved config as YAML, without run-control flags (``resume``) that do not change results."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("resume", None)
    return OmegaConf.to_yaml(OmegaConf.create(container))


def _without_run_dir(config_text: str) -> str:
    """``config_text`` with its own run folder (``paths.output_dir``, and the paths built from it)
    written as ``<run dir>``, so a copied or moved run folder still matches its config."""
    import yaml

    try:
        run_dir = str((yaml.safe_load(config_text) or {}).get("paths", {}).get("output_dir") or "")
    except yaml.YAMLError:
        return config_text
    return config_text.replace(run_dir, "<run dir>") if run_dir else config_text


def same_experiment(stored_text: str, config_text: str) -> bool:
    """Whether a stored config and this run's are the same experiment, wherever the folder now is."""
    return _without_run_dir(stored_text) == _without_run_dir(config_text)


def completed_metrics(run_dir: Path, config_text: str) -> dict[str, float | None] | None:
    """The metrics of a completed earlier run of exactly this config in ``run_dir``, else None."""
    status, config, metrics = (run_dir / name for name in (results.RUN_FILE, results.CONFIG_FILE,
                                                            results.METRICS_FILE))
    if not (status.is_file() and config.is_file() and metrics.is_file()):
        return None
    if results.read_json(status).get("status") != "completed" or not same_experiment(config.read_text(), config_text):
        return None
    return results.read_json(metrics)


class RunInterrupted(BaseException):
    """A signal (SIGTERM from a scheduler, SIGHUP) stopped the run."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


#: The signals that interrupt a run, and the last one received during it (None: none yet).
INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []


def _on_signal(signum: int, frame: Any) -> None:
    _received.append(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise RunInterrupted(signum)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Inside the block SIGINT raises ``KeyboardInterrupt`` and SIGTERM / SIGHUP raise
    :class:`RunInterrupted` (their default action would kill the process before the run's status is
    written), remembering which arrived: Lightning, while it trains, turns both into ``SystemExit``."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _holds_completed_run(run_dir: Path) -> bool:
    path = run_dir / results.RUN_FILE
    try:
        return path.is_file() and results.read_json(path).get("status") == "completed"
    except (OSError, ValueError):
        return False


def _hydra_record() -> dict[str, Any]:
    """The run's Hydra overrides and group choices (kept in run.json: a refused second run into the
    same folder may still rewrite .hydra/)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    hc = HydraConfig.get()
    return {"overrides": list(hc.overrides.task), "choices": {k: v for k, v in hc.runtime.choices.items()
                                                              if not str(k).startswith("hydra/")}}


def run_experiment(cfg: DictConfig) -> dict[str, float | None]:
    """Run one configured job and write its results into ``cfg.paths.output_dir``.

    Returns the flat metrics mapping (also in ``metrics.json``). Every setting is checked first, then the
    folder is locked (a second run into it is refused, naming the holder), and only then are earlier
    results removed. On failure ``run.json`` records the error and traceback, and the exception
    propagates; on Ctrl-C or a signal (SIGTERM, SIGHUP) it records ``interrupted`` with the signal, keeps
    the checkpoints and exits with 130 / 128 + the signal number, so ``resume=true`` continues. With
    ``resume=true``, a directory that already holds a completed run of the same config is kept as it is
    (a rerun sweep only redoes the jobs that failed or never finished); otherwise earlier results there
    are removed first.
    """
    import pytorch_lightning as pl

    run_dir = Path(cfg.paths.output_dir)
    method, references = build_methods(cfg)   # a bad setting fails here, before anything is loaded or removed
    run_dir.mkdir(parents=True, exist_ok=True)
    with results.run_folder_lock(run_dir):
        return _locked_run(cfg, run_dir, pl, method, references)


def _start_record(cfg: DictConfig, run_dir: Path, config_text: str, keep_checkpoints: bool) -> None:
    """Remove the earlier results (and checkpoints unless kept), write this run's config and a ``running``
    record naming the run."""
    results.clear_results(run_dir, checkpoints=not keep_checkpoints)
    results.atomic_write_text(run_dir / results.CONFIG_FILE, config_text)
    results.update_run_status(run_dir, status="running", run_name=cfg.run_name, method=cfg.method.name,
                              dataset=cfg.dataset.name, seed=int(cfg.seed), error=None, traceback=None,
                              signal=None, **_hydra_record())


def _record_failure(run_dir: Path, exc: BaseException) -> None:
    results.update_run_status(run_dir, status="failed", error=f"{type(exc).__name__}: {exc}",
                              traceback=traceback.format_exc())
    log.error("run failed (traceback in %s)", run_dir / results.RUN_FILE)


def _locked_run(cfg: DictConfig, run_dir: Path, pl: Any, method: FusionMethod,
                references: dict[str, FusionMethod]) -> dict[str, float | None]:
    config_text = experiment_config_text(cfg)
    if cfg.get("resume"):
        done = completed_metrics(run_dir, config_text)
        if done is not None:
            log.info("already completed with this config, kept as it is: %s", run_dir)
            return done
    # Checkpoints are only worth keeping for a resumed run of the same config.
    keep_checkpoints = bool(cfg.get("resume")) and (run_dir / results.CONFIG_FILE).is_file() and same_experiment(
        (run_dir / results.CONFIG_FILE).read_text(), config_text)
    log.info("[1/4] data: building the pair")
    t0 = time.perf_counter()
    try:   # bad data fails here, before anything is removed
        pair = build_pair(cfg)
        for each in (method, *references.values()):
            each.check(pair.without_truth())
    except Exception as exc:
        if _holds_completed_run(run_dir):   # keep the earlier result whole; the error is this attempt's
            log.error("not run, %s keeps its earlier completed result: %s: %s", run_dir, type(exc).__name__, exc)
            raise
        _start_record(cfg, run_dir, config_text, keep_checkpoints)   # a sweep lists this job as failed
        _record_failure(run_dir, exc)
        raise
    data_seconds = time.perf_counter() - t0
    _start_record(cfg, run_dir, config_text, keep_checkpoints)
    try:
        with _signals_interrupt():
            metrics = _run(cfg, run_dir, pl, method, references, pair, data_seconds)
    except Exception as exc:
        _record_failure(run_dir, exc)
        raise
    except (KeyboardInterrupt, SystemExit, RunInterrupted) as exc:
        signum = _received[-1] if _received else signal.SIGINT if isinstance(exc, KeyboardInterrupt) else None
        if signum is None:   # a library called sys.exit: a failure, not an interrupt
            results.update_run_status(run_dir, status="failed", error=f"SystemExit({exc.code!r}) inside the run",
                                      traceback=traceback.format_exc())
            log.error("run failed: SystemExit(%r) inside the run (traceback in %s)", exc.code,
                      run_dir / results.RUN_FILE)
            raise SystemExit(exc.code or 1) from None
        name = signal.Signals(signum).name
        results.update_run_status(run_dir, status="interrupted", signal=name, error=f"interrupted by {name}",
                                  traceback=traceback.format_exc())
        message = (f"run interrupted by {name}: {run_dir} keeps its checkpoints; rerun the same command with "
                   "resume=true to continue")
        log.error(message)
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(128 + int(signum)) from None
    results.update_run_status(run_dir, status="completed")
    return metrics


def _run(cfg: DictConfig, run_dir: Path, pl: Any, method: FusionMethod, references: dict[str, FusionMethod],
         pair: FusionPair, data_seconds: float) -> dict[str, float | None]:
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    times: dict[str, float] = {}
    start = time.perf_counter()
    times["data"] = data_seconds

    log.info("[2/4] method: %s", cfg.method.name)
    if cfg.get("monitor", True):
        method.monitor = make_monitor(pair)
    loggers = build_loggers(cfg)
    t0 = time.perf_counter()
    with run_loggers(loggers):   # learned stages log their curves to the run's loggers too
        output = method.run(pair.without_truth())
        times["method"] = time.perf_counter() - t0
        output.check_against(pair, method.name)
        for stage, seconds in output.time_s.items():
            times[f"method.{stage}"] = seconds
        beside: dict[str, MethodOutput] = {}
        if references:
            t0 = time.perf_counter()
            for name, reference in references.items():
                log.info("[2/4] beside it: %s", name)
                beside[name] = reference.run(pair.without_truth())
                beside[name].check_against(pair, f"{method.name} (compare_with {name})")
            times["references"] = time.perf_counter() - t0

    log.info("[3/4] metrics")
    t0 = time.perf_counter()
    metrics = score_output(pair, output, build_perceptual(cfg), beside)
    times["metrics"] = time.perf_counter() - t0
    metrics.update({k: results.clean_metric(v) for k, v in output.diagnostics.items()})
    metrics.update(score_registration(pair, output))
    if pair.meta.get("overlap") is not None:
        metrics["pair.overlap"] = results.clean_metric(pair.meta["overlap"])

    log.info("[4/4] writing results")
    results.write_estimates(run_dir, m_sri=output.m_sri, h_sri=output.h_sri, **output.extras)
    if cfg.save.pair:
        save_pair_npz(pair, run_dir / results.PAIR_FILE)
    if cfg.save.figure:
        run_figure(pair, output.m_sri, output.h_sri, run_dir / results.FIGURE_FILE, title=cfg.run_name)
    times["total"] = time.perf_counter() - start + data_seconds
    metrics.update({f"time_s.{k}": v for k, v in times.items()})
    results.write_metrics(run_dir, metrics)

    log_run(loggers, cfg, metrics)
    print_table(metrics, pair, title=cfg.run_name)
    print(f"results: {run_dir}")
    return metrics
