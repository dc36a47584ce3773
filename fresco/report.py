"""`fresco report DIR`: turn one run or a sweep directory into tables and figures.

Writes into ``DIR/report/`` (or ``--out``):
    runs.csv       one row per run: its swept parameters, status, every metric
    summary.csv    per group of swept parameters (seed excluded): n, mean and std of every metric
    summary.md     the markdown table, "mean +- std" over seeds, empty where a metric is unavailable
    selected.json  with --select KEY: the setting with the best mean KEY (e.g. fit.psnr)
    figures/*.png  RGB composites and error maps of the first completed run of each group
and prints the markdown table. Failed runs are listed with their error, never silently dropped.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fresco import results
from fresco.data.io import load_pair_npz
from fresco.figures import run_figure
from fresco.metrics import HEADLINE_KEYS, PERCEPTUAL_KEYS

#: Metrics in the markdown table unless --metrics says otherwise.
DEFAULT_TABLE_METRICS = (*(f"m_sri.{k}" for k in HEADLINE_KEYS if k not in PERCEPTUAL_KEYS),
                         *(f"h_sri.{k}" for k in HEADLINE_KEYS), "time_s.total")

#: Parameters never used to group runs: repeats of one setting differ only in the seed, and
#: the others do not change results.
REPEAT_KEYS = ("seed", "resume", "logger")


def find_runs(root: Path) -> list[Path]:
    """Every directory at or below ``root`` holding a run record (run.json or metrics.json), or a Hydra
    job folder (``.hydra/``) whose job failed before it wrote one (listed as failed, never dropped)."""
    found = {p.parent for name in (results.RUN_FILE, results.METRICS_FILE) for p in root.rglob(name)}
    found |= {p.parent.parent for p in root.rglob("overrides.yaml") if p.parent.name == ".hydra"}
    return sorted((d for d in found if "report" not in d.relative_to(root).parts), key=_natural_key)


def _read_record(path: Path, row: dict[str, Any]) -> dict[str, Any]:
    """A JSON record of the run, or ``{}`` with the damage noted in the row's error (the report goes on)."""
    if not path.is_file():
        return {}
    try:
        return results.read_json(path)
    except (OSError, ValueError) as exc:
        row["error"] = f"{path.name} is unreadable ({type(exc).__name__}: {exc})"
        return {}


def _natural_key(path: Path) -> list[Any]:
    """Sort ``2_x`` before ``10_x`` so groups keep the order in which the sweep ran them."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", str(path))]


def read_run(run_dir: Path) -> dict[str, Any]:
    """One row: ``param.<key>`` for each config-group choice and Hydra override, status/error, and
    every metric."""
    row: dict[str, Any] = {"run_dir": str(run_dir)}
    status = _read_record(run_dir / results.RUN_FILE, row)
    # The run's own record first (written under the folder's lock), Hydra's .hydra/ files otherwise.
    overrides = status.get("overrides")
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if overrides is None and overrides_file.is_file():
        try:
            overrides = yaml.safe_load(overrides_file.read_text()) or []
        except (OSError, yaml.YAMLError):
            overrides = []
    for item in overrides or []:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if not key.startswith(("hydra", "paths")):
            row[f"param.{key}"] = value
    choices = status.get("choices")
    hydra_file = run_dir / ".hydra" / "hydra.yaml"
    if choices is None and hydra_file.is_file():  # the group choices, defaults included
        try:
            choices = (yaml.safe_load(hydra_file.read_text()) or {}).get("hydra", {}).get("runtime", {}).get("choices")
        except (OSError, yaml.YAMLError, AttributeError):
            choices = {}
    for group, choice in (choices or {}).items():
        if not group.startswith("hydra/"):
            row.setdefault(f"param.{group}", str(choice))
    row["status"] = status.get("status", "completed" if (run_dir / results.METRICS_FILE).is_file() else "unknown")
    row["error"] = status.get("error") or row.get("error")
    for key in ("method", "dataset", "seed"):
        if key in status:
            row.setdefault(f"param.{key}", str(status[key]))
    metrics = _read_record(run_dir / results.METRICS_FILE, row)
    for key, value in metrics.items():
        row[key] = np.nan if value is None else float(value)
    if row.get("error") and "unreadable" in str(row["error"]):
        row["status"] = "failed"
    elif not status and not metrics:
        row["status"], row["error"] = "failed", "no run.json: the job failed before the run started (see its log)"
    return row


def fill_defaults(runs: pd.DataFrame) -> pd.DataFrame:
    """A run that did not override a swept key took its default: read it from its config.yaml."""
    for col in [c for c in runs.columns if c.startswith("param.")]:
        for idx in runs.index[runs[col].isna()]:
            config = Path(runs.at[idx, "run_dir"]) / results.CONFIG_FILE
            if config.is_file():
                value: Any = yaml.safe_load(config.read_text())
                for part in col[6:].split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is not None and not isinstance(value, dict | list):
                    runs.at[idx, col] = str(value)
    return runs


def group_keys(runs: pd.DataFrame) -> list[str]:
    """Parameters that vary across runs, repeats (seed) excluded; ``param.method`` at least."""
    params = [c for c in runs.columns if c.startswith("param.") and c[6:] not in REPEAT_KEYS]
    varying = [c for c in params if runs[c].astype(str).nunique(dropna=False) > 1]
    return varying or [c for c in ("param.method",) if c in runs.columns]


def summarise(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group: number of completed/failed runs, mean and std (ddof=1) of every metric."""
    metric_cols = [c for c in runs.columns if "." in c and not c.startswith("param.") and c != "run_dir"]
    done = runs[runs["status"] == "completed"]
    grouped = done.groupby(keys, dropna=False, sort=False) if keys else [((), done)]
    rows = []
    for name, grp in grouped:
        name = name if isinstance(name, tuple) else (name,)
        row = dict(zip(keys, name, strict=True))
        row["n"] = len(grp)
        mask = np.ones(len(runs), dtype=bool)
        for key, val in zip(keys, name, strict=True):
            mask &= (runs[key].astype(str) == str(val)).to_numpy()
        row["n_failed"] = int((runs.loc[mask, "status"] == "failed").sum())
        for col in metric_cols:
            vals = grp[col].dropna()
            row[f"{col}.mean"] = vals.mean() if len(vals) else np.nan
            row[f"{col}.std"] = vals.std(ddof=1) if len(vals) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return ""
    digits = 4 if abs(mean) < 10 else 2
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if np.isfinite(std) else "")


def markdown_table(summary: pd.DataFrame, keys: list[str], metrics: list[str]) -> str:
    """Mean +- std over seeds; an unavailable metric is an empty cell."""
    metrics = [m for m in metrics if f"{m}.mean" in summary.columns]
    header = [k[6:] for k in keys] + ["n"] + metrics
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in summary.iterrows():
        cells = [str(row[k]) for k in keys] + [str(int(row["n"]))]
        cells += [_cell(row[f"{m}.mean"], row[f"{m}.std"]) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "all"


def write_figures(runs: pd.DataFrame, keys: list[str], out: Path) -> list[Path]:
    """Redraw the figure of the first completed run (lowest seed) of each group from its files."""
    written = []
    done = runs[runs["status"] == "completed"]
    for name, grp in (done.groupby(keys, dropna=False, sort=False) if keys else [("all", done)]):
        name = name if isinstance(name, tuple) else (name,)
        label = ",".join(f"{k[6:]}={v}" for k, v in zip(keys, name, strict=True)) or "all"
        for run_dir in map(Path, grp["run_dir"]):
            if (run_dir / results.PAIR_FILE).is_file() and (run_dir / results.ESTIMATES_FILE).is_file():
                est = results.load_estimates(run_dir)
                written.append(run_figure(load_pair_npz(run_dir / results.PAIR_FILE), est.get("m_sri"),
                                          est.get("h_sri"), out / "figures" / f"{_slug(label)}.png",
                                          title=f"{label}  ({run_dir.name})"))
                break
    return written


def _csv(df: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    results.atomic_write_text(path, buf.getvalue())


def select_setting(summary: pd.DataFrame, keys: list[str], key: str, minimise: bool = False) -> dict[str, Any]:
    """The group whose mean ``key`` is best (highest, or lowest with ``minimise``): its parameters,
    run count and every metric mean. Meant for ground-truth-free keys such as ``fit.psnr``."""
    column = f"{key}.mean"
    if column not in summary.columns:
        known = sorted(c[:-5] for c in summary.columns if c.endswith(".mean"))
        raise ValueError(f"--select names a key no run has: {key}; available: {known}")
    ranked = summary.dropna(subset=[column])
    if ranked.empty:
        raise ValueError(f"--select {key}: no completed run has a value for it")
    best = ranked.loc[ranked[column].idxmin() if minimise else ranked[column].idxmax()]
    return {"select": key, "minimise": minimise, "params": {k[6:]: best[k] for k in keys}, "n": int(best["n"]),
            "metrics": {c[:-5]: (None if pd.isna(best[c]) else float(best[c]))
                        for c in summary.columns if c.endswith(".mean")}}


def report(root: str | Path, out: str | Path | None = None, metrics: list[str] | None = None,
           figures: bool = True, select: str | None = None, minimise: bool = False) -> str:
    """Aggregate the runs under ``root``; write CSV/markdown/figures and return the markdown.

    With ``select`` (a metrics key), the groups are ranked by its mean and the best setting is
    written to ``selected.json`` and named in the markdown (the paper's rule: rank by the fit of the
    OBSERVED images, ``fit.psnr``, never by ground-truth scores)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory; pass a run directory or a sweep directory "
                                "(e.g. outputs/multirun/<date>/<time>)")
    run_dirs = find_runs(root)
    if not run_dirs:
        raise FileNotFoundError(f"no runs under {root}: a run directory holds run.json / metrics.json")
    out = Path(out) if out is not None else root / "report"
    runs = fill_defaults(pd.DataFrame([read_run(d) for d in run_dirs]))
    keys = group_keys(runs)
    summary = summarise(runs, keys)
    _csv(runs, out / "runs.csv")
    _csv(summary, out / "summary.csv")
    text = f"# fresco report: {root}\n\n{len(runs)} runs, grouped by {', '.join(k[6:] for k in keys) or '-'}; "
    text += "mean ± std over seeds (empty: not available).\n\n"
    if metrics:
        unknown = [m for m in metrics if f"{m}.mean" not in summary.columns]
        if unknown:
            known = sorted(c[:-5] for c in summary.columns if c.endswith(".mean"))
            raise ValueError(f"--metrics names keys no run has: {unknown}; available: {known}")
    chosen = None
    if select:
        chosen = select_setting(summary, keys, select, minimise)
        summary = summary.sort_values(f"{select}.mean", ascending=minimise, na_position="last", kind="stable")
    shown = list(metrics or DEFAULT_TABLE_METRICS)
    if select and select not in shown:
        shown.insert(0, select)
    text += markdown_table(summary, keys, shown)
    if chosen is not None:
        setting = ", ".join(f"{k}={v}" for k, v in chosen["params"].items()) or "(one setting)"
        text += (f"\n## Selected by {'lowest' if minimise else 'highest'} {select}\n\n{setting} "
                 f"({chosen['n']} runs; {select} = {chosen['metrics'][select]:.4f})\n")
        results.atomic_write_json(out / "selected.json", chosen)
    failed = runs[runs["status"] != "completed"]
    if len(failed):
        text += "\n## Runs that did not complete\n\n"
        text += "".join(f"- `{r.run_dir}`: {r.status}: {r.error or 'no error recorded'}\n"
                        for r in failed.itertuples())
    results.atomic_write_text(out / "summary.md", text)
    if figures:
        write_figures(runs, keys, out)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fresco report", description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="a run directory or a sweep directory")
    parser.add_argument("--out", default=None, help="where to write (default: DIR/report)")
    parser.add_argument("--metrics", default=None,
                        help="comma-separated metrics.json keys for the markdown table")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--select", default=None,
                        help="rank settings by this metrics key and name the best (e.g. fit.psnr: the model's fit "
                             "of the observed images, the ground-truth-free rule of the paper)")
    parser.add_argument("--minimise", action="store_true", help="with --select: lower is better")
    args = parser.parse_args(argv)
    try:
        text = report(args.dir, args.out, args.metrics.split(",") if args.metrics else None,
                      figures=not args.no_figures, select=args.select, minimise=args.minimise)
    except (FileNotFoundError, ValueError) as exc:
        print(f"fresco report: {exc}", file=sys.stderr)
        return 2
    print(text)
    print(f"written to {Path(args.out) if args.out else Path(args.dir) / 'report'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
