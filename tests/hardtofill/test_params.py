"""The parameters model: the repository's params.yaml is valid, and any mistake in a copy of it
is refused naming the file, the key and what is expected; no key has a default."""

import pytest
import yaml
from pydantic import BaseModel

from hardtofill.params import Params, ParamsError, get_params, load_params

REPO_PARAMS = "params.yaml"


def _write(tmp_path, change) -> str:
    raw = yaml.safe_load(open(REPO_PARAMS, encoding="utf-8"))
    change(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def _models(model: type[BaseModel]):
    yield model
    for field in model.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from _models(field.annotation)


def test_the_repository_file_is_valid_and_every_section_typed():
    params = load_params(REPO_PARAMS)
    for name in Params.model_fields:
        assert isinstance(getattr(params, name), BaseModel), name
    assert params.training.num_boost_round == 400 and params.gates.quality.min_test_roc_auc == 0.68


def test_no_key_has_a_default_least_of_all_a_gate():
    defaults = [f"{model.__name__}.{name}" for model in _models(Params)
                for name, field in model.model_fields.items() if not field.is_required()]
    assert defaults == []


def test_a_misspelt_gate_is_refused_naming_file_key_and_what_is_expected(tmp_path):
    def misspell(raw):
        raw["gates"]["quality"]["min_test_roc_aux"] = raw["gates"]["quality"].pop("min_test_roc_auc")

    path = _write(tmp_path, misspell)
    with pytest.raises(ParamsError) as error:
        load_params(path)
    message = str(error.value)
    assert path in message
    assert "gates.quality.min_test_roc_aux: unknown key; expected one of min_test_roc_auc" in message
    assert "gates.quality.min_test_roc_auc: missing; expected float" in message


@pytest.mark.parametrize("change, expected", [
    (lambda raw: raw.pop("gates"), "gates: missing; expected a section with quality, non_regression, fairness"),
    (lambda raw: raw["training"].update(num_boost_round="many"), "training.num_boost_round: Input should be a valid "
                                                                 "integer"),
    (lambda raw: raw["training"]["monotone"].update(salaire=-1), "training.monotone: Value error, unknown features "
                                                                 "['salaire']"),
    (lambda raw: raw["risk_bands"].update(high_share=0.8), "risk_bands: Value error, high_share + medium_share"),
    (lambda raw: raw["monitoring"]["alerts"].update(max_ece=-1), "monitoring.alerts.max_ece: Input should be "
                                                                 "greater than or equal to 0"),
    # The horizon and the audited attributes are defined in code, once: a second definition is refused.
    (lambda raw: raw["fairness"].update(attributes=["region"]), "fairness.attributes: unknown key"),
    (lambda raw: raw.update(labels={"horizon_days": 45}), "labels: unknown key"),
])
def test_every_mistake_names_the_key(tmp_path, change, expected):
    path = _write(tmp_path, change)
    with pytest.raises(ParamsError, match=None) as error:
        load_params(path)
    assert expected in str(error.value) and path in str(error.value)


def test_params_are_read_once_per_process():
    assert get_params() is get_params()


def test_the_cli_refuses_bad_parameters_in_one_line_and_exit_2(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hardtofill.cli import app
    from hardtofill.settings import get_settings

    path = _write(tmp_path, lambda raw: raw["gates"].pop("fairness"))
    monkeypatch.setenv("HARDTOFILL_PARAMS_PATH", path)
    get_settings.cache_clear()
    try:
        for command in (["train", "--quiet"], ["monitor", "--no-progress"]):
            result = CliRunner().invoke(app, command)
            assert result.exit_code == 2, (command, result.output)
            assert "gates.fairness: missing" in result.output and "Traceback" not in result.output
    finally:
        get_settings.cache_clear()
