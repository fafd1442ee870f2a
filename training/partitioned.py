"""Training data from a Parquet history, one month at a time, in bounded memory.

One pass over the month partitions, in order (features.partitioned says why this is exact):
every event an offer causes (its opening, closing, label known, label leaving the window) falls
at or after its creation, so when month m is reached the partitions up to m hold every event
before the end of m. For each month: its offers -> their context events, spilled to a scratch
folder by the month they fall in, and small per-(key, month) tables folded into the running
ones; then the same parsed offers -> features with the context of that month (state before it +
its events), kept in compact columns; the month's frames are dropped as soon as used.
Peak memory: one month's offers and parsing, plus the features of the whole history (about
45 numbers or shared strings per offer). Each month is read and parsed once.
"""

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.context import ContextParams
from features.ingest import History, utc
from features.partitioned import EVENT_COLUMNS, ContextTables, month_events, month_number
from hardtofill.params import ContextSection
from training.data import TRAINING_COLUMNS, TrainingData


@dataclass(frozen=True)
class Partition:
    """One month file of the history, read as of `until` (None: as extracted)."""

    path: Path
    until: pd.Timestamp | None = None

    def read(self, columns=TRAINING_COLUMNS) -> History:
        from features.columnar import read_history_columnar

        history = read_history_columnar(self.path, columns=columns)
        if self.until is not None and len(history):
            history = history.as_of(self.until)
        return history


def partitions(path: Path, until: str | None) -> tuple[list[Partition], pd.Timestamp]:
    """The month partitions (in order) and the extraction date of the history as of `until`."""
    import pyarrow.compute as pc

    from features.columnar import history_dataset, partition_files

    extracted = pc.max(history_dataset(path).to_table(columns=["extracted_at"])["extracted_at"]).as_py()
    if extracted is None:
        raise ValueError(f"{path}: the history holds no offer with an extraction date")
    extracted_at = utc(extracted)
    moment = None
    if until is not None:
        moment = utc(until)
        if moment > extracted_at:
            raise ValueError(f"as_of {moment} is after the extraction date {extracted_at}")
        extracted_at = moment
    return [Partition(file, moment) for file in partition_files(path)], extracted_at


def _labelled_frame(history: History, features: pd.DataFrame, extracted_at) -> pd.DataFrame:
    """training.data.prepare's frame for one partition: features + offer_id, created_at, label,
    oracle, matured."""
    from features.labels import label_offers, matured

    labelled = label_offers(history.lifecycle)
    frame = features.assign(offer_id=history.offers["offer_id"].to_numpy(),
                            created_at=history.offers["created_at"].to_numpy(),
                            label=labelled["label"].to_numpy(), oracle=history.oracle.to_numpy())
    frame["matured"] = matured(frame, extracted_at).to_numpy()
    return frame


def events_by_month(parts: Iterator[tuple[int, dict]], scratch: Path) -> None:
    """Spill each partition's events into scratch/<event month>/<partition>.parquet."""
    for index, by_month in parts:
        for month, levels in by_month.items():
            folder = scratch / str(month)
            folder.mkdir(parents=True, exist_ok=True)
            pd.concat([frame.assign(level=level) for level, frame in levels.items()],
                      ignore_index=True).to_parquet(folder / f"{index}.parquet", index=False)


def spilled_events(scratch: Path, month: int) -> list[dict[str, pd.DataFrame]]:
    folder = scratch / str(month)
    pieces = []
    for file in sorted(folder.glob("*.parquet"), key=lambda f: int(f.stem)) if folder.is_dir() else []:
        frame = pd.read_parquet(file)
        pieces.append({level: part[EVENT_COLUMNS] for level, part in frame.groupby("level")})
    return pieces


def _month_groups(parts: list[Partition]) -> list[list[Partition]]:
    """The partitions grouped by month folder (a large month may span several files), in order."""
    groups: dict[str, list[Partition]] = {}
    for part in parts:
        groups.setdefault(part.path.parent.name, []).append(part)
    return list(groups.values())


def prepare_partitioned(path: Path, until: str | None, context: ContextSection,
                        note: Callable[[str], None] = lambda _: None) -> TrainingData:
    """training.data.prepare's TrainingData, built month by month from a Parquet history."""
    from features.build import _features_from_parsed, parse_offer_fields
    from training.data import _dataset_sha256

    parts, extracted_at = partitions(Path(path), until)
    context_params = ContextParams.from_dict(context.model_dump())
    last_month = int(month_number(np.array([extracted_at.value]))[0])
    offers, first, last, tables, index = 0, None, None, None, 0
    groups = _month_groups(parts)
    frames = []
    with tempfile.TemporaryDirectory(prefix="hardtofill-events-") as scratch:
        scratch = Path(scratch)
        for number, group in enumerate(groups, start=1):
            note(f"Features: month {number} of {len(groups)}")
            read, contributions, month = [], [], None
            for part in group:
                history = part.read()
                if not len(history):
                    continue
                parsed = parse_offer_fields(history.offers)
                events = month_events(parsed, history.lifecycle, context_params, last_month)
                month = int(month_number(history.offers["created_at"].iloc[:1].to_numpy(dtype="datetime64[ns]")
                                         .astype(np.int64))[0])
                if events.events and min(events.events) < month:
                    raise ValueError(f"{part.path}: an offer's outcome or label precedes its creation month "
                                     f"({np.datetime64(min(events.events), 'M')})")
                events_by_month(iter([(index, events.events)]), scratch)
                index += 1
                events.events = {}  # spilled
                contributions.append(events)
                read.append((history, parsed))
                created = history.offers["created_at"]
                offers += len(history)
                first = created.min() if first is None else min(first, created.min())
                last = created.max() if last is None else max(last, created.max())
            if not read:
                continue
            # Running tables: this month's totals folded into those of the months before.
            tables = ContextTables.combine(([tables] if tables is not None else []) + contributions, context_params)
            month_context = tables.context_for(month, spilled_events(scratch, month))
            for history, parsed in read:
                features = _features_from_parsed(parsed, month_context, with_audit=True)
                frames.append(_labelled_frame(history, features, extracted_at))
            del read, parsed, history, month_context
        snapshot_context = tables.context_for(last_month, spilled_events(scratch, last_month)) if tables else None
    identity = {
        "dataset_path": str(path), "dataset_sha256": _dataset_sha256(Path(path)), "dataset_offers": offers,
        "dataset_first_created": first.isoformat() if first is not None else None,
        "dataset_last_created": last.isoformat() if last is not None else None,
        "dataset_extracted_at": extracted_at.isoformat() if offers else None, "dataset_until": until,
    }
    if not frames:
        raise ValueError(f"{path}: the history holds no offer" + (f" before {until}" if until else ""))
    return TrainingData(frame=pd.concat(frames, ignore_index=True), context=snapshot_context, extracted_at=extracted_at,
                        identity=identity)
