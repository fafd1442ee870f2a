"""The published tables the generator draws from, read from ../shared/data/reference at generation
time (never copied into the repository):

- `metiers_tension.csv`: every ROME v3 code with its FAP and the FAP's BMO share of hiring
  projects judged difficult (BMO 2019);
- `bmo2025.xlsx`: hiring projects (`met`), difficult (`xmet`) and seasonal (`smet`) ones per BMO
  occupation (FAP 2021) x bassin d'emploi, with `*` for suppressed small cells.

`occupation_cells` joins them into one compact table: one row per ROME code x bassin where the
code's BMO occupation has hiring projects, with the number of offers to expect there and the
occupation-in-area difficult and seasonal shares. The table is derived once per process and kept
as Parquet beside the generated histories (keyed by the source files' hashes), so that the 3 MB
workbook is parsed once per machine.
"""

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from features.geography import DEPARTMENT_REGION

SUPPRESSED = "*"
BMO_COLUMNS = {"Code métier BMO": "bmo_code", "Nom métier BMO": "bmo_label", "BE25": "bassin",
               "NOMBE25": "bassin_label", "Dept": "department", "met": "met", "xmet": "xmet", "smet": "smet"}


class ReferenceDataMissing(RuntimeError):
    """The published tables are not where the settings say; the message names the path."""


def default_reference_dir() -> Path:
    from hardtofill.settings import get_settings

    return Path(get_settings().reference_dir)


@dataclass(frozen=True)
class ReferenceParams:
    suppressed_projects: float  # a suppressed `met` counts as this many projects
    shrinkage_projects: float  # pseudo-count pulling a bassin's shares toward the occupation's national ones
    fallback_difficult_pct: float  # ROME codes whose FAP is absent from BMO 2025


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def read_tension(directory: Path) -> pd.DataFrame:
    """ROME code, label, FAP code and FAP % difficult; a code listed under several FAPs keeps the
    mean of their shares and the first FAP (for the BMO 2025 join)."""
    path = directory / "metiers_tension.csv"
    if not path.is_file():
        raise ReferenceDataMissing(f"{path} not found (set HARDTOFILL_REFERENCE_DIR)")
    raw = pd.read_csv(path, dtype=str)
    raw["tension_pct"] = raw["tension_pct"].astype(float)
    grouped = raw.groupby("rome_code", sort=True).agg(
        rome_label=("rome_label", "first"), fap_code=("fap_code", "first"), tension_pct=("tension_pct", "mean"))
    grouped["rome_label"] = grouped["rome_label"].str.capitalize()
    return grouped.reset_index()


def read_bmo(directory: Path) -> pd.DataFrame:
    """BMO 2025 cells with numbers, `*` kept as missing values (flags say which were suppressed)."""
    path = directory / "bmo2025.xlsx"
    if not path.is_file():
        raise ReferenceDataMissing(f"{path} not found (set HARDTOFILL_REFERENCE_DIR)")
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine", dtype=str)
    data = next((s for s in sheets.values() if "xmet" in s.columns), None)
    if data is None:
        raise ReferenceDataMissing(f"{path}: no sheet with the columns met, xmet, smet")
    frame = data[list(BMO_COLUMNS)].rename(columns=BMO_COLUMNS)
    for column in ("met", "xmet", "smet"):
        frame[f"{column}_suppressed"] = frame[column].str.strip().eq(SUPPRESSED)
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["department"] = frame["department"].str.strip().str.zfill(2)
    return frame


def _fap_key(fap_2009: pd.Series, bmo_codes: pd.Index) -> pd.Series:
    """FAP 2009 code (A0Z43) -> BMO 2025 occupation (FAP 2021, A0X43): the same code with X for Z
    when it exists, else the family's first occupation with the same 3 first characters, else
    nothing (the code then keeps its national share everywhere)."""
    known = set(bmo_codes)
    by_family: dict[str, str] = {}
    for code in sorted(known):
        by_family.setdefault(code[:2], code)
        by_family.setdefault(code[:3], code)

    def one(code: str) -> str | None:
        exact = code[:2] + "X" + code[3:]
        if exact in known:
            return exact
        return by_family.get(exact[:3]) or by_family.get(code[:2])
    return fap_2009.map(one)


def build_cells(directory: Path, params: ReferenceParams) -> pd.DataFrame:
    """One row per ROME code x bassin: rome_code, rome_label, department, region, bassin,
    offers (expected share of all offers), difficult_logit (occupation-in-area), seasonal_share."""
    tension = read_tension(directory)
    bmo = read_bmo(directory)
    bmo = bmo[bmo["department"].isin(DEPARTMENT_REGION.keys())]
    # Suppressed counts are small: a fixed small number of projects (documented assumption).
    bmo["met"] = bmo["met"].fillna(params.suppressed_projects).where(~bmo["met_suppressed"], params.suppressed_projects)
    known = ~bmo["xmet_suppressed"] & bmo["xmet"].notna()
    seasonal_known = ~bmo["smet_suppressed"] & bmo["smet"].notna()
    national = bmo.groupby("bmo_code").apply(
        lambda g: pd.Series({
            "nat_difficult": g.loc[known[g.index], "xmet"].sum() / max(g.loc[known[g.index], "met"].sum(), 1.0),
            "nat_seasonal": g.loc[seasonal_known[g.index], "smet"].sum()
            / max(g.loc[seasonal_known[g.index], "met"].sum(), 1.0),
        }), include_groups=False)
    bmo = bmo.join(national, on="bmo_code")
    k = params.shrinkage_projects
    # Shrink each bassin toward the occupation's national share: suppressed shares carry no
    # information of their own, small cells little.
    bmo["difficult"] = (bmo["xmet"].where(known, 0.0) + k * bmo["nat_difficult"]) / (
        bmo["met"].where(known, 0.0) + k)
    bmo["seasonal"] = (bmo["smet"].where(seasonal_known, 0.0) + k * bmo["nat_seasonal"]) / (
        bmo["met"].where(seasonal_known, 0.0) + k)
    tension["bmo_code"] = _fap_key(tension["fap_code"], pd.Index(bmo["bmo_code"].unique()))
    codes_per_bmo = tension.groupby("bmo_code")["rome_code"].transform("size")
    tension["share_of_bmo"] = 1.0 / codes_per_bmo

    cells = tension.merge(bmo, on="bmo_code", how="inner")
    clip = lambda p: np.clip(p, 0.02, 0.98)  # noqa: E731 - logit of a share
    logit = lambda p: np.log(clip(p) / (1 - clip(p)))  # noqa: E731
    # The code's own tension (its FAP's BMO share), moved by how this bassin differs from France
    # for the same occupation: the area effect is the survey's, not a sum of two marginals.
    cells["difficult_logit"] = (logit(cells["tension_pct"] / 100) + logit(cells["difficult"])
                                - logit(cells["nat_difficult"]))
    cells["seasonal_share"] = cells["seasonal"].clip(0.0, 0.95)
    cells["offers"] = cells["met"] * cells["share_of_bmo"]
    # Codes whose FAP has no BMO 2025 occupation: spread over bassins like all projects, national share.
    missing = tension[~tension["rome_code"].isin(cells["rome_code"])]
    if len(missing):
        places = bmo.groupby(["bassin", "department"], as_index=False)["met"].sum()
        places["offers"] = places["met"] / places["met"].sum() * bmo["met"].sum() / max(len(tension), 1)
        extra = missing.merge(places[["bassin", "department", "offers"]], how="cross")
        extra["difficult_logit"] = logit(extra["tension_pct"] / 100)
        extra["seasonal_share"] = float((bmo["smet"].where(seasonal_known, 0)).sum()
                                        / bmo["met"].where(seasonal_known, 0).sum())
        cells = pd.concat([cells, extra], ignore_index=True)
    cells["region"] = cells["department"].map(DEPARTMENT_REGION)
    cells["offers"] = cells["offers"] / cells["offers"].sum()
    columns = ["rome_code", "rome_label", "bassin", "department", "region", "offers", "difficult_logit",
               "seasonal_share"]
    return cells[columns].sort_values(["rome_code", "bassin"], ignore_index=True)


@lru_cache(maxsize=4)
def occupation_cells(directory: Path | None, params: ReferenceParams, cache_dir: Path | None = None) -> pd.DataFrame:
    """The compact table of `build_cells`, cached on disk under `cache_dir` (the data directory)."""
    directory = Path(directory or default_reference_dir())
    sources = [directory / "metiers_tension.csv", directory / "bmo2025.xlsx"]
    for path in sources:
        if not path.is_file():
            raise ReferenceDataMissing(f"{path} not found (set HARDTOFILL_REFERENCE_DIR to the folder of "
                                       "metiers_tension.csv and bmo2025.xlsx)")
    key = hashlib.sha256("".join(_sha(p) for p in sources).encode() + repr(params).encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"occupation_cells_{key}.parquet" if cache_dir else None
    if cached is not None and cached.is_file():
        return pd.read_parquet(cached)
    cells = build_cells(directory, params)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(cached.name + ".partial")
        cells.to_parquet(partial, index=False)
        partial.replace(cached)
    return cells
