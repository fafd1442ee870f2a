"""Training on a Dask cluster: the same feature code per month partition, the point-in-time
context without collecting the history, and `lightgbm.dask` fitting the model.

Flow (features.partitioned explains why the context is exact):
1. one task per month file: read it, parse, compute its context events; the events stay on the
   workers, only small per-(key, month) tables come back;
2. the client sums the small tables and sends them to every worker;
3. one task per month: its features with the context of its month (state before it + the
   month's events, passed worker to worker), labels, matured; only per-month counts come back;
4. the time split and the categories from those counts; the training months' model frames form
   a Dask DataFrame that `lightgbm.dask.DaskLGBMClassifier` fits where the rows are;
5. early stopping replayed on the validation months (lightgbm.dask has none): the trees up to
   the best validation log loss are kept, as lgb.early_stopping does on one machine.
What reaches the client: the validation and test months (for calibration, evaluation,
fairness and gates, as on one machine), a sample of the training months (at most
params.yaml training.baseline_max_rows, for the baselines), the context snapshot and the model; training.stages
(load_data_on_cluster) makes them the data stage's Data, and the stages after it (calibrate,
evaluate, audit, explain) and training.pipeline's log and promote are those of one machine.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.spec import CATEGORICAL, to_model_frame
from hardtofill.params import Params, TrainingParams


class ClusterError(RuntimeError):
    """The cluster cannot be reached or cannot train; the message says why."""


def connect(scheduler: str):
    """A client of the cluster at `scheduler` (tcp://HOST:8786)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"Dask scheduler {scheduler} unreachable: {error}") from None


def _month_of_file(path: Path) -> int:
    """Month number (since 1970-01) of a `month=YYYY-MM` partition file."""
    folder = Path(path).parent.name
    if not folder.startswith("month="):
        raise ClusterError(f"{path} is not in a month=YYYY-MM folder: ingest the history with `hardtofill ingest`")
    return int(np.datetime64(folder.removeprefix("month="), "M").astype(np.int64))


# ---- tasks (run on the workers; module-level functions so that they pickle by reference) --------

def _events_task(part, context_params, last_month: int):
    from features.build import parse_offer_fields
    from features.partitioned import MonthEvents, month_events

    history = part.read()
    if not len(history):
        return MonthEvents(events={}, totals={}, salaries={})
    return month_events(parse_offer_fields(history.offers), history.lifecycle, context_params, last_month)


def _small_tables(events):
    from features.partitioned import MonthEvents

    return MonthEvents(events={}, totals=events.totals, salaries=events.salaries)


def _events_in(events, month: int) -> dict:
    return events.events.get(month, {})


def _features_task(part, tables, month: int, *month_events):
    from features.build import _features_from_parsed, parse_offer_fields

    history = part.read()
    if not len(history):
        return None
    context = tables.context_for(month, [e for e in month_events if e])
    return history, _features_from_parsed(parse_offer_fields(history.offers), context, with_audit=True)


def _labelled_task(built, extracted_at):
    from training.partitioned import _labelled_frame

    if built is None:
        return None
    history, features = built
    return _labelled_frame(history, features, extracted_at)


def _month_counts(frame) -> dict:
    from training.split import month_of

    if frame is None:
        return {}
    return frame["matured"].groupby(month_of(frame["created_at"])).agg(["sum", "count"]).to_dict("index")


def _categories_seen(frame, train_months) -> dict:
    from training.split import month_of

    rows = frame[frame["matured"].to_numpy(bool) & month_of(frame["created_at"]).isin(train_months).to_numpy()]
    return {name: set(rows[name].dropna().astype(str).unique()) for name in CATEGORICAL}


def _rows(frame, months) -> pd.DataFrame:
    from training.split import month_of

    return frame[frame["matured"].to_numpy(bool) & month_of(frame["created_at"]).isin(months).to_numpy()]


def _model_part(frame, months, categories):
    rows = _rows(frame, months)
    return to_model_frame(rows, categories).assign(label=rows["label"].to_numpy(int)).reset_index(drop=True)


def _sample(frame, months, share: float, seed: int):
    rows = _rows(frame, months)
    return rows if share >= 1 else rows.sample(frac=share, random_state=seed)


# ---- the client side ---------------------------------------------------------------------------

@dataclass
class ClusterFit:
    """What training.stages.load_data_on_cluster turns into the data stage's Data and a booster."""

    data: object  # training.data.TrainingData: frame = validation + test months + the training sample
    split: object  # training.split.TimeSplit
    train_rows: pd.DataFrame  # the training sample (baselines)
    valid_rows: pd.DataFrame
    test_rows: pd.DataFrame
    categories: dict
    booster: object
    train_count: int


def fit_on_cluster(path: Path, until: str | None, params: Params, scheduler: str, note=lambda _: None) -> ClusterFit:
    """Features, split and LightGBM fit on the cluster at `scheduler` (see the module docstring)."""
    from features.context import ContextParams
    from features.partitioned import ContextTables, month_number
    from hardtofill.resources import peak_rss_mb
    from training.data import TrainingData, _dataset_sha256
    from training.partitioned import partitions
    from training.split import time_split

    path = Path(path)
    if not path.is_dir():
        raise ClusterError(f"{path}: training on a cluster reads a Parquet history folder (`hardtofill ingest`)")
    training = params.training
    parts, extracted_at = partitions(path, until)
    months = [_month_of_file(p.path) for p in parts]
    last_month = int(month_number(np.array([extracted_at.value]))[0])
    context_params = ContextParams.from_dict(params.context.model_dump())
    client = connect(scheduler)
    try:
        note(f"Context events of {len(parts)} month files on {len(client.scheduler_info()['workers'])} workers")
        events = [client.submit(_events_task, p, context_params, last_month, pure=False) for p in parts]
        tables = ContextTables.combine(client.gather([client.submit(_small_tables, e) for e in events]),
                                       context_params)
        [tables_future] = client.scatter([tables], broadcast=True)

        def month_pieces(month: int) -> list:
            return [client.submit(_events_in, e, month) for e, m in zip(events, months, strict=True) if m <= month]

        note("Features, month by month")
        built = [client.submit(_features_task, p, tables_future, m, *month_pieces(m), pure=False)
                 for p, m in zip(parts, months, strict=True)]
        frames = [client.submit(_labelled_task, b, extracted_at) for b in built]
        del built
        snapshot_pieces = client.gather(month_pieces(last_month))
        context = tables.context_for(last_month, [p for p in snapshot_pieces if p])

        counts: dict[str, dict] = {}
        for part_counts in client.gather([client.submit(_month_counts, f) for f in frames]):
            for month, c in part_counts.items():
                counts.setdefault(month, {"sum": 0, "count": 0})
                counts[month]["sum"] += c["sum"]
                counts[month]["count"] += c["count"]
        summary = pd.DataFrame({"created_at": pd.to_datetime([f"{m}-01" for m in counts], utc=True),
                                "matured": [c["sum"] / c["count"] for c in counts.values()]})
        split = time_split(summary, training)
        train_months = [m for m in split.train]
        seen = client.gather([client.submit(_categories_seen, f, train_months) for f in frames])
        categories = {name: sorted(set().union(*(s[name] for s in seen))) for name in CATEGORICAL}
        train_count = int(sum(counts[m]["sum"] for m in train_months))

        note(f"Fitting LightGBM on the cluster: {train_count:,} offers")
        booster = _fit(client, frames, train_months, categories, training)
        eval_months = split.validation + split.test
        local = [f for f in client.gather([client.submit(_rows, f, eval_months) for f in frames]) if len(f)]
        share = min(1.0, training.baseline_max_rows / max(train_count, 1))
        sample = pd.concat(client.gather([client.submit(_sample, f, train_months, share, training.seed)
                                          for f in frames]), ignore_index=True)
        worker_peaks = client.run(peak_rss_mb)  # what each worker needed: sizing a real cluster
    finally:
        client.close()
    frame = pd.concat(local, ignore_index=True)
    from training.split import month_of

    month = month_of(frame["created_at"])
    valid_rows, test_rows = frame[month.isin(split.validation).to_numpy()], frame[month.isin(split.test).to_numpy()]
    booster = _early_stopped(booster, to_model_frame(valid_rows, categories), valid_rows["label"].to_numpy(int),
                             training.early_stopping_rounds)
    identity = {"dataset_path": str(path), "dataset_sha256": _dataset_sha256(path),
                "dataset_offers": int(sum(c["count"] for c in counts.values())),
                "dataset_extracted_at": extracted_at.isoformat(), "dataset_until": until,
                "dataset_first_created": None, "dataset_last_created": None, "trained_on": scheduler,
                "trained_on_workers": len(worker_peaks),
                "trained_on_worker_peak_rss_mb": round(max(worker_peaks.values()), 1)}
    data = TrainingData(frame=frame, context=context, extracted_at=extracted_at, identity=identity)
    return ClusterFit(data=data, split=split, train_rows=sample, valid_rows=valid_rows, test_rows=test_rows,
                      categories=categories, booster=booster, train_count=train_count)


def _fit(client, frames, train_months, categories, training: TrainingParams):
    """lightgbm.dask on the training months' model frames, where they are."""
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    from training.model import lightgbm_params

    parts = [client.submit(_model_part, f, train_months, categories) for f in frames]
    sizes = client.gather([client.submit(len, p) for p in parts])
    parts = [p for p, n in zip(parts, sizes, strict=True) if n]
    meta = client.submit(lambda frame: frame.iloc[:0], parts[0]).result()
    table = dd.from_delayed(parts, meta=meta, verify_meta=False)
    features = table.drop(columns="label")
    model_params = lightgbm_params(training)
    model_params.pop("num_threads", None)  # each worker uses its own threads
    model = DaskLGBMClassifier(client=client, n_estimators=training.num_boost_round,
                               tree_learner="data", **model_params)
    model.fit(features, table["label"])
    return model.booster_


def _early_stopped(booster, valid_x: pd.DataFrame, valid_y: np.ndarray, rounds: int):
    """The trees up to the best validation log loss, stopping after `rounds` without a better
    one, as lgb.early_stopping does (lightgbm.dask has no early stopping)."""
    import lightgbm as lgb

    raw = np.zeros(len(valid_x))
    best, best_loss = 0, np.inf
    for iteration in range(booster.current_iteration()):
        raw += booster.predict(valid_x, raw_score=True, start_iteration=iteration, num_iteration=1)
        probability = np.clip(1 / (1 + np.exp(-raw)), 1e-15, 1 - 1e-15)
        loss = -np.mean(valid_y * np.log(probability) + (1 - valid_y) * np.log(1 - probability))
        if loss < best_loss:
            best, best_loss = iteration + 1, loss
        elif iteration + 1 - best >= rounds:
            break
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    trimmed.best_iteration = 0
    return trimmed
