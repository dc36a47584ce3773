"""The datasets fresco knows, each described by one record: what it is, its files and checksums, and
where to get it. Loaders (:mod:`fresco.data.scenes`, :mod:`fresco.data.real`) read their constants
from these records and raise :class:`DatasetNotFoundError` (what to fetch, where to put it) when a
file is missing. ``data/README.md`` is the long form of the same table.

Adding a dataset (docs/architecture.md): a record here, a loader function returning a
:class:`~fresco.data.scenes.Scene` (or a ready :class:`~fresco.data.pair.FusionPair`), and
``conf/dataset/<name>.yaml`` naming the loader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DATASETS", "INDIAN_PINES", "PARIS_HYPERION_ALI", "PAVIA_UNIVERSITY", "TERRAIN", "Dataset",
           "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is not where it was looked for. ``what`` names it, ``tried`` lists the paths
    looked at and ``where`` says how to get it and which setting points fresco at it."""

    def __init__(self, what: str, tried: Sequence[str | Path], where: str) -> None:
        self.what, self.tried, self.where = what, [Path(p) for p in tried], where
        tried_txt = "\n".join(f"  - {p}" for p in self.tried)
        super().__init__(f"{what} not found. Looked for:\n{tried_txt}\nTo get it: {where}.")


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``name`` (its ``dataset=`` config option), a ``title``, the ``sensor``, the cube
    ``shape`` (rows, cols, bands) of the usual file, the display ``rgb_bands``, its ``files`` with their
    ``sha256`` where fixed, and ``where`` to get it (shown in :class:`DatasetNotFoundError`)."""

    name: str
    title: str
    sensor: str
    shape: tuple[int, int, int] | None
    rgb_bands: tuple[int, int, int] | None
    files: tuple[str, ...]
    where: str
    sha256: Mapping[str, str] = field(default_factory=dict)
    embedded: bool = False

    def not_found(self, tried: Sequence[str | Path], what: str | None = None) -> DatasetNotFoundError:
        """The error for a missing file of this dataset (``what`` defaults to the title and first file)."""
        return DatasetNotFoundError(what or f"{self.title} ({self.files[0]})", tried, self.where)


INDIAN_PINES = Dataset(
    name="indian_pines", title="AVIRIS Indian Pines", sensor="AVIRIS", shape=(145, 145, 200), rgb_bands=(29, 19, 9),
    files=("Indian_pines_corrected.npy",), embedded=True,
    sha256={"Indian_pines_corrected.npy": "8f038e4d81569e38ebfc72a15c9984c150de42580ab260be10a13442e912e451"},
    where=("Indian Pines ships inside the tensorly wheel: `pip install tensorly` (>= 0.8) installs "
           "<site-packages>/tensorly/datasets/data/Indian_pines_corrected.npy; or download it from Purdue "
           "(doi:10.4231/R7RX991C) and set `dataset.loader.root=/folder/holding/the/npy`"),
)
PAVIA_UNIVERSITY = Dataset(
    name="pavia_university", title="Pavia University", sensor="ROSIS-03", shape=(610, 340, 103),
    rgb_bands=(52, 30, 7), files=("PaviaU.mat", "paviaU_subimg.mat"),
    where=("download PaviaU.mat (610x340x103, key 'paviaU') from the EHU Grupo de Inteligencia "
           "Computacional 'Hyperspectral Remote Sensing Scenes' page "
           "(https://www.ehu.eus/ccwintco/index.php/Hyperspectral_Remote_Sensing_Scenes) and set "
           "`dataset.loader.path=/data/PaviaU.mat`"),
)
TERRAIN = Dataset(
    name="terrain", title="HYDICE Terrain", sensor="HYDICE", shape=(307, 307, 210), rgb_bands=(38, 30, 15),
    files=("terrain.hdr",),
    where=("the HYDICE Terrain cube (307x307x210, ENVI .hdr + .img) is distributed with the HYDICE "
           "Urban/Terrain data sets (e.g. the US Army Corps of Engineers AGC/TEC release); put both files "
           "in one folder and set `dataset.loader.path=/data/terrain.hdr`"),
)
PARIS_HYPERION_ALI = Dataset(
    name="paris_hyperion_ali", title="Paris Hyperion + ALI pair", sensor="EO-1 Hyperion + EO-1 ALI",
    shape=(72, 72, 128), rgb_bands=None, files=("paris_data_hs_ms.mat", "R_HysureParis.mat"),
    sha256={"paris_data_hs_ms.mat": "81e13528535ff32a0e0069368daa3aa9206d1393317391571a29958f5f57d839",
            "R_HysureParis.mat": "ee52ba8c7a429baf8f593b82e5f1d8592d3959a80db33791556c0b34de5671de"},
    where=("download data/paris_data_hs_ms.mat from HySure (https://github.com/alfaiate/HySure, GPL-3.0; imagery "
           "EO-1 Hyperion + ALI, USGS/NASA, public domain) and, for the estimated SRF, DATA/R_HysureParis.mat from "
           "https://github.com/ricardoborsoi/FuVarRelease; put both in one folder and set "
           "`dataset.loader.path=/folder/paris_data_hs_ms.mat`"),
)

#: Every dataset with a record, by its ``dataset=`` name.
DATASETS: dict[str, Dataset] = {d.name: d for d in (INDIAN_PINES, PAVIA_UNIVERSITY, TERRAIN, PARIS_HYPERION_ALI)}
