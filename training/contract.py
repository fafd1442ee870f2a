"""The registry's contract, in one place: what training logs with each model version and what
serving and monitoring load from it (training.champion), under which names.

- the registered model `<HARDTOFILL_MODEL_NAME>`, logged natively with `mlflow.lightgbm` under
  the name MODEL, in the experiment EXPERIMENT;
- aliases: CANDIDATE moves to every version trained to the end; CHAMPION only to a version that
  passed every gate (or by hand: `hardtofill promote | rollback`, logged in the audit log);
- run artifacts read back by serving and monitoring (CHAMPION_ARTIFACTS):
  FEATURE_SPEC (features.spec.spec_dict), CALIBRATION (training.calibration.Calibrator.to_dict),
  CONTEXT/ (features.context.MarketContext.save of the snapshot at the end of the training data),
  MODEL_CARD and MODEL_CARD_MD, REFERENCE (a sample of the test months: features, `audit_*`
  groups, `created_at`, `probability`, `risk`, `label`), and RISK_BANDS ({"medium": p1,
  "high": p2}: training.risk_bands.risk_band);
- run artifacts for people (RUN_TABLES): the evaluation, fairness (training.fairness.TABLE_COLUMNS)
  and importance tables, the split and the gates; and PLOTS/.
"""

EXPERIMENT = "hardtofill"
MODEL = "model"
CHAMPION = "champion"
CANDIDATE = "candidate"

FEATURE_SPEC = "feature_spec.json"
CALIBRATION = "calibration.json"
RISK_BANDS = "risk_bands.json"
MODEL_CARD = "model_card.json"
MODEL_CARD_MD = "model_card.md"
REFERENCE = "reference.parquet"
CONTEXT = "context"
PLOTS = "plots"

EVALUATION_TABLE = "evaluation_table.csv"
FAIRNESS_TABLE = "fairness_table.csv"
IMPORTANCE = "importance.csv"
SPLIT = "split.json"
GATES = "gates.json"

CHAMPION_ARTIFACTS = (FEATURE_SPEC, CALIBRATION, CONTEXT, MODEL_CARD, MODEL_CARD_MD, REFERENCE, RISK_BANDS)
RUN_TABLES = (EVALUATION_TABLE, FAIRNESS_TABLE, IMPORTANCE, SPLIT, GATES)
