"""Run by tests/serving/test_replicas.py in a subprocess, from a built bento's `src` folder:
`python bento_imports.py SRC OFFERS_JSON`. The service is imported, the champion loaded from the
registry at HARDTOFILL_TRACKING_URI and offers scored with the bento's source alone, as in its
container: the project's editable install is taken off the import path, and the packages the
bento leaves out (bentofile.yaml) cannot be imported at all, even lazily."""

import importlib.abc
import json
import sys
from pathlib import Path

# Left out of the bento, and (flask, gunicorn, docker, graphene) what full mlflow has that
# mlflow-skinny, the bento's, has not.
EXCLUDED = frozenset({"shap", "evidently", "playwright", "dask", "distributed", "fairlearn", "codecarbon",
                      "jupyter", "nbclient", "ipykernel", "flask", "gunicorn", "docker", "graphene", "monitoring"})
PROJECT = ("features", "training", "hardtofill", "serving")


class Excluded(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in EXCLUDED:
            raise ModuleNotFoundError(f"{name} is not in the bento", name=name)
        return None


def main(source: str, offers_path: str) -> None:
    source = str(Path(source).resolve())
    sys.meta_path[:] = [Excluded()] + [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path[:] = [source] + [p for p in sys.path if p not in ("", ".")]
    import serving.service  # noqa: F401  (the service definition, as `bentoml serve` imports it)
    from serving.scoring import Scorer
    from training.champion import load_champion

    champion = load_champion()
    batch = Scorer(champion).score(json.loads(Path(offers_path).read_text(encoding="utf-8")))
    outside = sorted(name for name, module in sys.modules.items()
                     if name.partition(".")[0] in PROJECT and getattr(module, "__file__", None)
                     and not module.__file__.startswith(source))
    if outside:
        raise SystemExit(f"imported from outside the bento: {outside}")
    print(json.dumps({"version": champion.version, "scored": len(batch.results)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
