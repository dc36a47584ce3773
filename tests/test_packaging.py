"""The wheel's package list covers every sub-package and every config group."""

from __future__ import annotations

import tomllib

from conftest import REPO_ROOT


def test_every_subpackage_and_config_group_is_packaged():
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    code = {".".join(p.parent.relative_to(REPO_ROOT).parts) for p in (REPO_ROOT / "fresco").rglob("__init__.py")}
    conf = {"fresco.conf"} | {f"fresco.conf.{d.name}" for d in (REPO_ROOT / "conf").iterdir() if d.is_dir()}
    assert listed == code | conf, f"update [tool.setuptools] packages in pyproject.toml: {sorted(code | conf ^ listed)}"
