"""The champion: the promoted model version and everything serving and monitoring need with it,
loaded as the registry's contract (training.contract) says training logged it."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.context import MarketContext
from features.spec import to_model_frame
from training import contract
from training.calibration import Calibrator
from training.risk_bands import RISK_BANDS, risk_band

__all__ = ["RISK_BANDS", "Champion", "ChampionUnavailable", "load_champion"]


class ChampionUnavailable(RuntimeError):
    """No champion, or its artifacts are broken; the message says why in one line."""


@dataclass
class Champion:
    model_name: str
    version: str
    run_id: str
    booster: object  # lightgbm.Booster
    spec: dict
    calibrator: Calibrator
    context: MarketContext
    card: dict
    risk_bands: dict[str, float]
    artifacts_dir: Path
    _reference: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def categories(self) -> dict[str, list[str]]:
        return self.spec["categories"]

    def model_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        return to_model_frame(features, self.categories)

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """TreeSHAP contributions (log-odds), one column per feature plus the base value last;
        their row sums are the raw scores."""
        return self.booster.predict(self.model_frame(features), pred_contrib=True)

    def probabilities_from_raw(self, raw_scores: np.ndarray) -> np.ndarray:
        return self.calibrator.transform(raw_scores)

    def probabilities(self, features: pd.DataFrame) -> np.ndarray:
        raw = self.booster.predict(self.model_frame(features), raw_score=True)
        return self.probabilities_from_raw(raw)

    def risk_band(self, probabilities: np.ndarray) -> np.ndarray:
        return risk_band(probabilities, self.risk_bands)

    def reference(self) -> pd.DataFrame:
        if self._reference is None:
            self._reference = pd.read_parquet(self.artifacts_dir / contract.REFERENCE)
        return self._reference


def load_champion(alias: str = contract.CHAMPION, model_name: str | None = None,
                  tracking_uri: str | None = None) -> Champion:
    """Load `models:/<name>@<alias>` with its artifacts; ChampionUnavailable says why not."""
    import json

    import mlflow
    from mlflow.exceptions import MlflowException

    from hardtofill.settings import get_settings

    settings = get_settings()
    model_name = model_name or settings.model_name
    # Every call names its store: MLflow's global tracking URI is left to the caller.
    uri = tracking_uri or settings.tracking_uri
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as error:
        raise ChampionUnavailable(f"no model version of '{model_name}' has the alias "
                                  f"'{alias}' ({error.error_code}): run `make train`") from None
    try:
        # The version's own artifacts, not `models:/` (which MLflow resolves with its global
        # registry URI), and of the version resolved above even if the alias moves meanwhile.
        source = version.source  # MLflow 3: models:/<logged model id>; older versions: runs:/...
        if source.startswith("models:/"):
            source = client.get_logged_model(version.model_id or source.removeprefix("models:/")).artifact_location
        model_dir = mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=uri, registry_uri=uri)
        booster = mlflow.lightgbm.load_model(model_dir)
        if hasattr(booster, "booster_"):
            booster = booster.booster_
        directory = Path(mlflow.artifacts.download_artifacts(run_id=version.run_id, tracking_uri=uri,
                                                             registry_uri=uri))
        spec = json.loads((directory / contract.FEATURE_SPEC).read_text("utf-8"))
        calibrator = Calibrator.from_dict(json.loads((directory / contract.CALIBRATION).read_text("utf-8")))
        card = json.loads((directory / contract.MODEL_CARD).read_text("utf-8"))
        bands = json.loads((directory / contract.RISK_BANDS).read_text("utf-8"))
        context = MarketContext.load(directory / contract.CONTEXT)
    except (OSError, KeyError, ValueError, MlflowException) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ChampionUnavailable(f"model '{model_name}' version {version.version} "
                                  f"(alias '{alias}') has broken artifacts: {first_line}") from None
    return Champion(model_name=model_name, version=str(version.version), run_id=version.run_id,
                    booster=booster, spec=spec, calibrator=calibrator, context=context, card=card,
                    risk_bands=bands, artifacts_dir=directory)
