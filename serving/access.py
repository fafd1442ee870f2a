"""Who may call the data endpoints, and how client errors are logged.

`ApiKeyMiddleware` (plain ASGI) answers 401 before the request reaches the service when the
`Authorization: Bearer KEY` header does not carry an active key; it puts the key's name (a client
dashboard, never a person) in the request state. Health, readiness, metrics, the docs and the
dashboard page itself stay open. `ClientErrorLogFilter` turns BentoML's traceback for a bad
request body into one line.
"""

import json
import logging

from serving.keys import bearer_token, key_owner
from serving.schemas import ROUTE_BODIES

PROTECTED_PATHS = tuple(ROUTE_BODIES)  # the data routes: those whose body the guard checks


class ApiKeyMiddleware:
    def __init__(self, app, store_url: str | None = None, protected: tuple[str, ...] = PROTECTED_PATHS):
        self.app = app
        self.store_url = store_url
        self.protected = protected
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from hardtofill.settings import get_settings
            from serving.store import PredictionStore

            self._store = PredictionStore(self.store_url or get_settings().store_url)
        return self._store

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") not in self.protected:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer_token(headers.get("authorization"))
        import anyio

        if self._store is None:  # opened (and its schema checked) once, off the event loop
            await anyio.to_thread.run_sync(lambda: self.store)
        # The hashes are read on every call so that a revoked key stops working at once. On SQLite
        # the read takes ~20 µs and never waits for a writer (WAL): done here, as a hop to a worker
        # thread and back cost more, and much more on a busy machine. A server is waited for on a
        # worker thread, so that the event loop keeps serving.
        if self.store.local:
            owner = key_owner(token, self.store.active_key_hashes())
        else:
            owner = await anyio.to_thread.run_sync(lambda: key_owner(token, self.store.active_key_hashes()))
        if owner is None:
            logging.getLogger("bentoml.hardtofill").info(
                "401 on %s: %s", scope["path"], "no API key" if token is None else "unknown or revoked API key")
            body = json.dumps({"error": "clé d'API absente, inconnue ou révoquée : envoyez l'en-tête "
                                        "'Authorization: Bearer <clé>' (hardtofill keys create NOM)"}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"www-authenticate", b'Bearer realm="hardtofill"'),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["api_client"] = owner
        return await self.app(scope, receive, send)


class ClientErrorLogFilter(logging.Filter):
    """BentoML logs a request body that fails validation with a full traceback at ERROR; it is
    the client's error, so it becomes one WARNING line naming the problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        error = record.exc_info[1]
        from bentoml.exceptions import BentoMLException
        from pydantic import ValidationError
        from starlette.exceptions import HTTPException

        client_error = (isinstance(error, ValidationError)
                        or (isinstance(error, BentoMLException) and int(getattr(error.error_code, "value", 500)) < 500)
                        or (isinstance(error, HTTPException) and error.status_code < 500))
        if not client_error and isinstance(error.__context__, HTTPException):
            client_error = error.__context__.status_code < 500  # a malformed form body, re-raised
        if not client_error:
            return True
        if isinstance(error, ValidationError):
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
                                 for e in error.errors(include_input=False)[:5])
        else:
            problems = str(error).splitlines()[0] if str(error) else type(error).__name__
        record.msg = f"client error: {record.getMessage()}: {problems}"
        record.args = ()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def install_client_error_filter() -> None:
    logger = logging.getLogger("bentoml._internal.server.http_app")
    if not any(isinstance(f, ClientErrorLogFilter) for f in logger.filters):
        logger.addFilter(ClientErrorLogFilter())
