"""Model versions a feedback may name: those the MLflow registry holds (a version is a number,
checked by pattern first, so free text never reaches the registry query or the store)."""

import threading


class RegistryUnavailable(RuntimeError):
    pass


class KnownVersions:
    """Versions of the registered model seen to exist (they are never deleted while served)."""

    def __init__(self, model_name: str, tracking_uri: str, known: tuple[str, ...] = ()):
        self.model_name, self.tracking_uri = model_name, tracking_uri
        self._known = set(known)
        self._lock = threading.Lock()

    def exists(self, version: str) -> bool:
        if version in self._known:
            return True
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            mlflow.MlflowClient(tracking_uri=self.tracking_uri).get_model_version(self.model_name, version)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return False
            raise RegistryUnavailable(f"model registry unavailable ({error.error_code})") from None
        with self._lock:
            self._known.add(version)
        return True
