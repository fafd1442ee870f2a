"""Settings from environment variables prefixed HARDTOFILL_ (pydantic-settings).

Defaults are local: files under the working directory (the repository when run through make).
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARDTOFILL_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where generated histories live.")
    reference_dir: Path = Field(
        Path(__file__).resolve().parents[2] / "shared" / "data" / "reference",
        description="Published tables the generator reads (metiers_tension.csv, bmo2025.xlsx): "
        "../shared/data/reference beside the repository.",
    )
    history_path: Path = Field(
        Path("data/offers_history.parquet"),
        description="The offer history used by training: the Parquet folder of `hardtofill ingest` "
                    "(generated and ingested when missing) or JSON lines (.jsonl, .jsonl.gz).",
    )
    employer_key: SecretStr | None = Field(
        None, description="Secret key of the employer pseudonyms (HMAC-SHA256 of the employer's SIRET or "
        "name): training and serving must share it. Unset: a random key created once in <data_dir>/employer_key.",
    )
    params_path: Path = Field(Path("params.yaml"), description="Training and monitoring parameters.")
    tracking_uri: str = Field(
        "sqlite:///mlruns/mlflow.db", description="MLflow tracking store and model registry."
    )
    artifact_root: Path = Field(
        Path("mlruns/artifacts"), description="Where MLflow keeps run artifacts (local stores)."
    )
    model_name: str = Field("hardtofill", description="Registered model name.")
    dask_scheduler: str | None = Field(
        None, description="Dask scheduler (tcp://HOST:8786) `hardtofill train` runs on; unset: this machine."
    )
    store_url: str = Field(
        "sqlite:///data/predictions.db",
        description="Prediction store (scores, feedback, outcomes, API key hashes).",
    )
    journal_dir: Path | None = Field(
        None, description="Journal of answered scores not yet stored (default: the SQLite store's folder, "
                          "else data/).")
    host: str = Field("127.0.0.1", description="Address the service listens on.")
    port: int = Field(3000, description="Port the service listens on.")
    workers: int = Field(1, description="BentoML workers.")
    max_body_bytes: int = Field(
        16_000_000, gt=0,
        description="Largest request body the API reads (413 beyond): 1,000 real offers weigh ~8 MB.",
    )
    reports_dir: Path = Field(Path("reports"), description="Monitoring HTML reports and summaries.")
    workspace_dir: Path = Field(
        Path("monitoring_workspace"), description="Evidently workspace for the monitoring UI."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
