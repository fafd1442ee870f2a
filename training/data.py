"""The training data: a history read (or replayed as of a date), labelled, with point-in-time
features, and the dataset's identity (size, date range, hash) for the MLflow run."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.context import MarketContext
from features.ingest import OFFER_COLUMNS, History, read_history, utc
from hardtofill.params import ContextSection


@dataclass
class TrainingData:
    frame: pd.DataFrame  # features + audit_* + offer_id, created_at, label, oracle, matured
    context: MarketContext  # the point-in-time context of the whole history
    extracted_at: pd.Timestamp
    identity: dict


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dataset_sha256(path: Path) -> str:
    from features.columnar import dataset_sha256, is_columnar

    return dataset_sha256(path) if is_columnar(path) else file_sha256(path)


def ensure_default_history(path: Path, default_path: Path, progress: bool = True) -> None:
    """The default history is generated when missing (300,000 offers, 24 months, seed 42), and
    ingested into Parquet when the default is a Parquet folder; any other missing path is an
    error the caller reports."""
    if Path(path).exists() or Path(path).resolve() != Path(default_path).resolve():
        return
    from features.columnar import is_columnar
    from features.generator.simulate import GeneratorConfig
    from features.generator.write import write_history

    lines = Path(path).with_suffix(".jsonl.gz") if is_columnar(Path(path)) else Path(path)
    if not lines.is_file():
        write_history(GeneratorConfig(offers=300_000, months=24, seed=42), lines, progress=progress)
    if lines != Path(path):
        from features.columnar import ingest

        ingest(lines, Path(path), progress=progress)


# The offer columns the features read (features.build): contract_nature is not one of them.
TRAINING_COLUMNS = tuple(c for c in OFFER_COLUMNS if c != "contract_nature")


def load_history(path: Path, until: str | None = None, progress: bool = True) -> History:
    history = read_history(Path(path), progress=progress, columns=TRAINING_COLUMNS)
    if until is not None:
        history = history.as_of(utc(until))
    return history


def prepare(history: History, context_params: ContextSection, identity: dict) -> TrainingData:
    """Label, build the point-in-time context and the features of every offer."""
    from features.build import history_features
    from features.labels import label_offers, matured

    labelled = label_offers(history.lifecycle)
    features, context = history_features(history.offers, labelled, context_params.model_dump(), with_audit=True)
    frame = features.assign(
        offer_id=history.offers["offer_id"].to_numpy(),
        created_at=history.offers["created_at"].to_numpy(),
        label=labelled["label"].to_numpy(),
        oracle=history.oracle.to_numpy(),
    )
    frame["matured"] = matured(frame, history.extracted_at).to_numpy()
    return TrainingData(frame=frame, context=context, extracted_at=history.extracted_at,
                        identity=identity)


# Above this many offers, JSON lines are not parsed into whole-history frames (about 4.8 GB at
# 1M offers) but ingested into a temporary Parquet folder first (streamed, 50,000 lines at a time)
# and trained on month by month, as a `hardtofill ingest` folder is: bounded memory either way.
# Below it, reading them at once is quicker (no ingest pass) and the rows are the same.
IN_MEMORY_MAX_OFFERS = 200_000


def history_size(path: Path) -> int:
    """Offers in a history before any `until`: rows of a Parquet history (files' metadata), lines
    of JSON lines (streamed, not parsed)."""
    from features.columnar import history_dataset, is_columnar
    from features.ingest import _open_lines

    path = Path(path)
    if is_columnar(path):
        return history_dataset(path).count_rows()
    if not path.is_file():
        raise FileNotFoundError(f"offer history {path} not found (run `hardtofill generate`)")
    return sum(1 for line in _open_lines(path) if line.strip())


def training_data(path: Path, until: str | None, context_params: ContextSection,
                  note=lambda _: None, offers: int | None = None) -> TrainingData:
    """The training data of a history: month by month from a Parquet folder (bounded memory,
    training.partitioned), and from JSON lines above IN_MEMORY_MAX_OFFERS through a temporary
    Parquet folder; all at once from smaller JSON lines or a single Parquet file. `offers`: the
    history's size when the caller counted it already (history_size)."""
    path = Path(path)
    if path.is_dir():
        from training.partitioned import prepare_partitioned

        return prepare_partitioned(path, until, context_params, note)
    if path.suffix != ".parquet":
        offers = history_size(path) if offers is None else offers
        if offers > IN_MEMORY_MAX_OFFERS:
            return _via_parquet(path, until, context_params, note, offers)
    history = load_history(path, until, progress=False)
    note(f"Building features of {len(history):,} offers")
    return prepare(history, context_params, dataset_identity(path, history, until))


def _via_parquet(path: Path, until: str | None, context_params: ContextSection, note, offers: int) -> TrainingData:
    """Large JSON lines: streamed into a temporary Parquet folder, then trained on month by month.
    As when they are read at once, a bad line or an offer without its lifecycle stops training."""
    import tempfile

    import pyarrow.dataset as ds

    from features.columnar import history_dataset, ingest
    from training.partitioned import prepare_partitioned

    with tempfile.TemporaryDirectory(prefix="hardtofill-lines-") as scratch:
        note(f"Ingesting the {offers:,} offers of {path.name} into a temporary Parquet history "
             f"(more than {IN_MEMORY_MAX_OFFERS:,}: trained month by month)")
        folder = Path(scratch) / "history"
        report = ingest(path, folder, progress=False)
        if report.rejected:
            first = report.first_rejections[0]
            raise ValueError(f"{path}: line {first['line']}: {first['error']} ({report.rejected:,} bad lines; "
                             "`hardtofill ingest` keeps the others and lists them)")
        bare = history_dataset(folder).count_rows(filter=ds.field("outcome").is_null())
        if bare:
            raise ValueError(f"{path}: {bare:,} offers lack the 'lifecycle' field (bare API offers cannot be "
                             "labelled)")
        prepared = prepare_partitioned(folder, until, context_params, note)
    prepared.identity.update(dataset_path=str(path), dataset_sha256=file_sha256(path))
    return prepared


def dataset_identity(path: Path, history: History, until: str | None) -> dict:
    created = history.offers["created_at"]
    return {
        "dataset_path": str(path),
        "dataset_sha256": _dataset_sha256(Path(path)),
        "dataset_offers": len(history),
        "dataset_first_created": created.min().isoformat() if len(history) else None,
        "dataset_last_created": created.max().isoformat() if len(history) else None,
        "dataset_extracted_at": history.extracted_at.isoformat() if len(history) else None,
        "dataset_until": until,
    }
