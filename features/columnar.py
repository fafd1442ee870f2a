"""The columnar history: API v2 JSON lines -> validated Parquet partitioned by month, and back.

`ingest` streams the lines in chunks (memory bounded by the chunk, whatever the file's size),
validates each offer with the schema (personal data dropped there), and writes the offer frame's
columns plus the lifecycle and the oracle through `pyarrow.dataset.write_dataset`, one folder per
creation month (`month=2023-01/`). A bad line is reported with its number and skipped; the others
are kept. Readers ask for the columns they need only, and get the same frames as the JSON lines
reader (features.ingest.read_history).

Lines are either generated records ({"offer", "lifecycle", "oracle"}) or bare API offers (an
export of the API): those have no lifecycle yet (outcome null) and no oracle.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa

from features.ingest import OFFER_COLUMNS, _open_lines, offer_row
from features.schema import OfferError, validate_offer

_TEXT = pa.string()
_TIME = pa.timestamp("us", tz="UTC")
_TYPES = {"created_at": _TIME, "work_study": pa.bool_(), "positions": pa.int32(), "accessible_th": pa.bool_(),
          "adapted_company": pa.bool_(), "licence_required": pa.bool_(), "licence_desired": pa.bool_(),
          "diploma_required": pa.bool_(), "competences_count": pa.int32(), "languages_required": pa.int32()}
LIFECYCLE_COLUMNS = ("outcome", "outcome_at", "extracted_at")
HISTORY_SCHEMA = pa.schema(
    [pa.field(name, _TYPES.get(name, _TEXT)) for name in OFFER_COLUMNS]
    + [pa.field("outcome", _TEXT), pa.field("outcome_at", _TIME), pa.field("extracted_at", _TIME),
       pa.field("oracle", pa.float64()), pa.field("month", _TEXT)])
# Columns a history ingested by an earlier version lacks: read as missing (the employer's
# pseudonym: such offers get no employer context, the market's values instead).
ADDED_LATER = ("employer_key",)
MANIFEST = "_ingest.json"  # files starting with "_" are not read as data by pyarrow
REJECTED = "_rejected.jsonl"
CHUNK_LINES = 50_000


class IngestError(ValueError):
    """The input cannot be ingested at all (missing, or the output exists); the message says why."""


@dataclass
class IngestReport:
    source: str
    output: str
    lines: int = 0
    kept: int = 0
    rejected: int = 0
    months: list[str] = field(default_factory=list)
    first_rejections: list[dict] = field(default_factory=list)  # line, error (at most 20)
    source_sha256: str = ""
    ingested_at: str = ""


def is_columnar(path: Path) -> bool:
    """A Parquet history: a folder written by `ingest`, or a single .parquet file."""
    path = Path(path)
    return path.is_dir() or path.suffix == ".parquet"


def _parse_line(line: bytes, number: int) -> tuple[tuple, tuple, float | None]:
    """(offer row, lifecycle, oracle) of one line; ValueError naming the problem otherwise."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if "offer" in record:  # a generated record (or an export with its lifecycle)
        life = record.get("lifecycle") or {}
        if not isinstance(life, dict):
            raise ValueError("field 'lifecycle': not an object")
        raw, oracle = record["offer"], (record.get("oracle") or {}).get("p_hard_to_fill")
        lifecycle = (life.get("outcome"), life.get("outcome_date"), life.get("extracted_at"))
    else:  # a bare API offer: no outcome known yet
        raw, oracle, lifecycle = record, None, (None, None, None)
    try:
        row = offer_row(validate_offer(raw, number - 1))
    except OfferError as error:
        raise ValueError(str(error)) from None
    return row, lifecycle, oracle


def _batch(rows: list[tuple], lifecycles: list[tuple], oracles: list) -> pa.RecordBatch:
    import pandas as pd

    columns = {name: list(values) for name, values in zip(OFFER_COLUMNS, zip(*rows, strict=True), strict=True)}
    columns["created_at"] = pd.to_datetime(columns["created_at"], utc=True)
    outcome, outcome_at, extracted_at = (list(v) for v in zip(*lifecycles, strict=True))
    columns["outcome"] = outcome
    columns["outcome_at"] = pd.to_datetime(outcome_at, utc=True, format="ISO8601")
    columns["extracted_at"] = pd.to_datetime(extracted_at, utc=True, format="ISO8601")
    columns["oracle"] = oracles
    columns["month"] = columns["created_at"].strftime("%Y-%m")
    return pa.RecordBatch.from_pydict(columns, schema=HISTORY_SCHEMA)


def _batches(source: Path, report: IngestReport, rejected_stream, chunk_lines: int,
             progress) -> Iterator[pa.RecordBatch]:
    rows, lifecycles, oracles = [], [], []
    for number, line in enumerate(_open_lines(source), start=1):
        report.lines = number
        if not line.strip():
            continue
        try:
            row, lifecycle, oracle = _parse_line(line, number)
        except ValueError as error:
            report.rejected += 1
            rejection = {"line": number, "error": str(error)}
            rejected_stream.write(orjson.dumps(rejection) + b"\n")
            if len(report.first_rejections) < 20:
                report.first_rejections.append(rejection)
            continue
        rows.append(row)
        lifecycles.append(lifecycle)
        oracles.append(oracle)
        if len(rows) >= chunk_lines:
            report.kept += len(rows)
            progress(len(rows))
            yield _batch(rows, lifecycles, oracles)
            rows, lifecycles, oracles = [], [], []
    if rows:
        report.kept += len(rows)
        progress(len(rows))
        yield _batch(rows, lifecycles, oracles)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(source: Path, output: Path, replace: bool = False, chunk_lines: int = CHUNK_LINES,
           progress: bool = True) -> IngestReport:
    """JSON lines (gzip when .gz) -> Parquet folder partitioned by month. The folder appears
    complete or not at all (written beside, then renamed); an existing one is kept unless
    `replace`."""
    import shutil

    import pyarrow.dataset as ds
    from rich.progress import Progress

    source, output = Path(source), Path(output)
    if not source.is_file():
        raise IngestError(f"{source}: no such file")
    if output.exists() and not replace:
        raise IngestError(f"{output} exists: pass --replace to rebuild it")
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    report = IngestReport(source=str(source), output=str(output))
    with open(partial / REJECTED, "wb") as rejected, Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"Ingesting {source.name}", total=None)
        batches = _batches(source, report, rejected, chunk_lines, lambda n: bar.advance(task, n))
        # The lines' order is kept inside each month (no min_rows_per_group: regrouping rows
        # reordered them), so that reading the folder gives the rows the JSON lines give.
        ds.write_dataset(batches, partial, schema=HISTORY_SCHEMA, format="parquet",
                         partitioning=["month"], partitioning_flavor="hive", use_threads=False,
                         preserve_order=True, basename_template="part-{i}.parquet",
                         existing_data_behavior="overwrite_or_ignore", max_rows_per_file=1_000_000,
                         max_rows_per_group=4 * chunk_lines)
    if report.kept == 0:
        shutil.rmtree(partial)
        first = report.first_rejections[0] if report.first_rejections else None
        raise IngestError(f"{source}: no valid offer in {report.lines:,} lines"
                          + (f" (line {first['line']}: {first['error']})" if first else ""))
    report.months = sorted(p.name.removeprefix("month=") for p in partial.glob("month=*"))
    report.source_sha256 = _sha256(source)
    report.ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    (partial / MANIFEST).write_text(json.dumps(report.__dict__, indent=2), encoding="utf-8")
    if output.exists():
        shutil.rmtree(output)
    partial.rename(output)
    return report


def dataset_sha256(path: Path) -> str:
    """Identity of a Parquet history for MLflow: its manifest (which holds the source's hash)
    and the names and sizes of its files, without reading the data."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        digest.update(f"{file.relative_to(path) if path.is_dir() else file.name}:{file.stat().st_size}\n".encode())
    manifest = path / MANIFEST if path.is_dir() else None
    if manifest is not None and manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()


def history_dataset(path: Path):
    """The pyarrow dataset of a Parquet history (hive `month=` folders, `_` files ignored)."""
    import pyarrow.dataset as ds

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"offer history {path} not found (run `hardtofill ingest`)")
    return ds.dataset(path, format="parquet", partitioning="hive" if path.is_dir() else None)


def partition_files(path: Path) -> list[Path]:
    """The Parquet files of a history in month order: one task each on a cluster."""
    return sorted((Path(f) for f in history_dataset(path).files), key=lambda f: _file_order(str(f)))


def _file_order(name: str) -> tuple:
    """month folder, then part number as a number (part-10 after part-9)."""
    folder, _, file = name.rpartition("/")
    number = file.removeprefix("part-").removesuffix(".parquet")
    return (folder, int(number) if number.isdigit() else -1, file)


def read_table(path: Path, columns: list[str] | None = None, filter=None) -> pa.Table:
    """The history's rows (only `columns` when given), months in order, lines in file order."""
    dataset = history_dataset(path)
    wanted = [c for c in (columns or HISTORY_SCHEMA.names) if c in dataset.schema.names]
    absent = set(columns or []) - set(dataset.schema.names)
    missing = sorted(absent - set(ADDED_LATER))
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} in this history")
    fragments = sorted(dataset.get_fragments(filter=filter), key=lambda f: _file_order(f.path))
    tables = [fragment.to_table(columns=wanted, filter=filter) for fragment in fragments]
    table = pa.concat_tables(tables) if tables else dataset.schema.empty_table().select(wanted)
    for name in (c for c in columns or [] if c in absent):  # a history ingested before the column existed
        table = table.append_column(HISTORY_SCHEMA.field(name), pa.nulls(len(table), HISTORY_SCHEMA.field(name).type))
    return table.select([c for c in (columns or HISTORY_SCHEMA.names) if c in table.column_names])


def read_history_columnar(path: Path, columns: list[str] | tuple[str, ...] | None = None,
                          limit: int | None = None):
    """features.ingest.History of a Parquet history, reading only the offer `columns` wanted
    (all by default; offer_id and created_at always) with the lifecycle and the oracle."""
    from features.ingest import History

    wanted = list(dict.fromkeys(["offer_id", "created_at", *(columns or OFFER_COLUMNS)]))
    unknown = sorted(set(wanted) - set(OFFER_COLUMNS))
    if unknown:
        raise ValueError(f"unknown offer column(s) {', '.join(unknown)}")
    table = read_table(path, wanted + [*LIFECYCLE_COLUMNS, "oracle"])
    if limit is not None:
        table = table.slice(0, limit)
    # split_blocks and self_destruct: arrow buffers are freed as pandas takes the columns over,
    # so the peak is not twice the history.
    frame = table.to_pandas(split_blocks=True, self_destruct=True, coerce_temporal_nanoseconds=True)
    del table
    oracle = frame.pop("oracle").astype(float).rename("oracle").reset_index(drop=True)
    lifecycle = frame[["offer_id", "created_at", *LIFECYCLE_COLUMNS]].copy()
    offers = frame[wanted]
    return History(offers=offers, lifecycle=lifecycle, oracle=oracle)
