"""Where fresco's Hydra configs live, the options defined in Python, and composing one config group
option on its own (for the methods the pipeline runs beside the chosen one, ``method.compare_with``).

Two groups have their single source in Python and are registered with Hydra's ConfigStore when this
module is imported (the CLI and the tests' composition import it): ``hsr`` (``paper`` =
:class:`~fresco.hsr.HSRConfig`'s defaults, ``cpu`` = :func:`~fresco.hsr.cpu_config`; typed, so
``hsr.iterations=abc`` or a misspelt key fails at composition) and ``misalignment`` (the named levels
of :data:`fresco.data.simulate.MISALIGNMENT_LEVELS`). ``fresco --cfg job`` prints their values.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from fresco.data.simulate import MISALIGNMENT_LEVELS, misalignment_config
from fresco.hsr.config import cpu_config, paper_config

__all__ = ["compose_option", "config_dir", "register_configs"]


def register_configs() -> None:
    """Register the config group options defined in Python (idempotent)."""
    store = ConfigStore.instance()
    store.store(group="hsr", name="paper", node=paper_config())
    store.store(group="hsr", name="cpu", node=cpu_config())
    for level in MISALIGNMENT_LEVELS:
        store.store(group="misalignment", name=level, node=misalignment_config(level))


def config_dir() -> Path:
    """The Hydra config folder: `conf/` at the repository root (installed editable), or the copy
    packaged as `fresco/conf` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "conf", here / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"fresco's Hydra configs were not found next to {here} (looked for conf/config.yaml at the "
        "repository root and inside the package). Install from a checkout with `pip install -e .`."
    )


def compose_option(group: str, option: str) -> DictConfig:
    """The ``group`` node of the default config composed with ``group=option``, unresolved (its
    interpolations resolve against whichever config it is placed in). Inside a running Hydra app this
    uses the app's own config search path (so options added with ``hydra.searchpath`` are found);
    elsewhere, :func:`config_dir`. Raises ``ValueError`` naming the available options when there is
    no such option."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import MissingConfigException

    def _compose() -> DictConfig:
        try:
            cfg = compose("config", overrides=[f"{group}={option}"])
        except MissingConfigException as exc:
            options = sorted(exc.options or [])
            raise ValueError(f"there is no {group} config named {option!r}; choose from {options}") from None
        return cfg[group]

    if GlobalHydra.instance().is_initialized():
        return _compose()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        return _compose()


register_configs()
