"""The door of the API routes (plain ASGI, before BentoML parses anything).

For a POST to /score, /score_one, /explain, /feedback or /latest it:
- answers 413 when the body is larger than `HARDTOFILL_MAX_BODY_BYTES`, from the Content-Length
  header before reading anything, or as soon as a chunked body passes the limit (the worker never
  holds more than the limit);
- answers 415 unless the body is JSON: BentoML would otherwise parse forms (a multipart body
  without a boundary gave a 500) and even pickles (`application/vnd.bentoml+pickle`), which
  would run code chosen by the client;
- answers 400 in French when the body is not JSON, or when its top level is not the route's
  (unknown fields refused, strict types, bounds), naming every faulty field;
- otherwise hands the body, unchanged, to BentoML; for /score, the offers it parsed go to the
  service in the request's state and BentoML gets an empty list (a batch of 1,000 offers weighs
  several MB: parsing it twice cost as much as validating it). Offers themselves are checked one
  by one by the service (a bad offer in a batch is reported, the others scored); /score_one's
  single offer is checked here (400 naming every faulty field), before BentoML batches it.

It also serves `/docs.json`: BentoML's document completed into a truthful one (serving.openapi).
"""

import json
import logging

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from serving.validation import problems

log = logging.getLogger("bentoml.hardtofill")
JSON_TYPES = ("application/json",)
LARGE_BODY_BYTES = 256 * 1024
PARSED_OFFERS = "hardtofill_offers"  # the request state's key of /score's parsed offers
EMPTY_SCORE_BODY = b'{"offers": []}'


def _parse(body: bytes):
    return from_json(body, allow_inf_nan=False) if body.strip() else None


def json_response(status: int, payload: dict, headers: list | None = None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json; charset=utf-8"),
                         (b"content-length", str(len(body)).encode()), *(headers or [])]}
    return start, {"type": "http.response.body", "body": body}


class TooLarge(Exception):
    pass


class RequestGuard:
    def __init__(self, app, max_body_bytes: int | None = None, max_batch: int | None = None):
        self.app = app
        self._max_body_bytes = max_body_bytes
        self._max_batch = max_batch
        self._docs: bytes | None = None

    @property
    def max_body_bytes(self) -> int:
        if self._max_body_bytes is None:
            from hardtofill.settings import get_settings

            self._max_body_bytes = get_settings().max_body_bytes
        return self._max_body_bytes

    @property
    def max_batch(self) -> int:
        if self._max_batch is None:
            from serving.scoring import ServingParams

            self._max_batch = ServingParams.load().max_batch
        return self._max_batch

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "").rstrip("/")
        if path == "/docs.json" and scope.get("method") == "GET":
            return await self._docs_json(scope, receive, send)
        from serving.schemas import ROUTE_BODIES

        if path not in ROUTE_BODIES:
            return await self.app(scope, receive, send)
        if scope.get("method") != "POST":
            return await self._answer(send, 405, path, "méthode non permise : utilisez POST",
                                      headers=[(b"allow", b"POST")])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            return await self._too_large(send, path)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in JSON_TYPES:
            return await self._answer(
                send, 415, path, "corps de requête en JSON uniquement : envoyez l'en-tête "
                                 "'Content-Type: application/json'")
        try:
            body = await self._read(receive)
        except TooLarge:
            return await self._too_large(send, path)
        try:
            # pydantic's own JSON parser, as BentoML's: what passes here passes there (a lone
            # surrogate "\ud800" would not); no NaN or Infinity. A large body (a batch) is parsed
            # on a worker thread: the event loop keeps serving the other requests meanwhile.
            if len(body) > LARGE_BODY_BYTES:
                import anyio

                payload = await anyio.to_thread.run_sync(_parse, body)
            else:
                payload = _parse(body)
        except (ValueError, RecursionError):
            return await self._answer(send, 400, path, "le corps de la requête n'est pas un JSON valide")
        refusal = self._check(path, payload, ROUTE_BODIES[path])
        if refusal is not None:
            status, message, extra = refusal
            return await self._answer(send, status, path, message, extra=extra)
        if path == "/score":
            # The offers, parsed once: handed to the service in the request's state, and BentoML
            # parses an empty list instead of the whole batch a second time (serving.service).
            scope.setdefault("state", {})[PARSED_OFFERS] = payload["offers"]
            body = EMPTY_SCORE_BODY
        elif path == "/score_one":
            # Its offer is refused here, with a 400 as /score gives, and so is the request when no
            # model is served (503): once merged into an adaptive batch, one request's answer can
            # no longer carry its own status.
            from serving import readiness
            from serving.validation import check_offer, refusal

            if (reason := readiness.unavailable()) is not None:
                return await self._answer(send, 503, path, f"aucun modèle servi : {reason}")
            refused = check_offer(payload["offers"][0], 0)
            if refused is not None:
                message, extra = refusal([refused])
                return await self._answer(send, 400, path, message, extra=extra)
        return await self.app(scope, _replay(body, receive), send)

    def _check(self, path: str, payload, model: type[BaseModel]):
        """None if the body's top level is the route's, else (status, message, extra fields)."""
        if not isinstance(payload, dict):
            return 400, "le corps de la requête doit être un objet JSON ({...})", {}
        if path == "/score":
            offers = payload.get("offers")
            if isinstance(offers, list) and len(offers) > self.max_batch:
                return (413, f"trop d'offres : {len(offers)} reçues, {self.max_batch} au plus par requête",
                        {"limit": self.max_batch})
        try:
            model.model_validate(payload)
        except ValidationError as error:
            found = problems(error)
            listed = " ; ".join(f"'{p.field}' : {p.message}" for p in found)
            return 400, f"requête refusée : {listed}", {"fields": [p.as_dict() for p in found]}
        return None

    async def _read(self, receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send, path: str):
        limit_mb = self.max_body_bytes / 1_000_000
        return await self._answer(send, 413, path, f"requête trop volumineuse : {limit_mb:g} Mo au plus",
                                  extra={"limit_bytes": self.max_body_bytes})

    async def _answer(self, send, status: int, path: str, message: str, extra: dict | None = None,
                      headers: list | None = None):
        fields = ", ".join(f["field"] for f in (extra or {}).get("fields", [])[:10])
        log.info("%d on %s: %s", status, path, fields or message.split(" :")[0])
        start, body = json_response(status, {"error": message, **(extra or {})}, headers)
        await send(start)
        await send(body)

    async def _docs_json(self, scope, receive, send):
        if self._docs is None:
            status, original = await _capture(self.app, scope, receive)
            if status != 200:
                return await self.app(scope, receive, send)
            from serving.openapi import complete

            self._docs = json.dumps(complete(json.loads(original), self.max_batch)).encode()
        start, body = json_response(200, {})
        start["headers"][1] = (b"content-length", str(len(self._docs)).encode())
        await send(start)
        await send({"type": "http.response.body", "body": self._docs})


def _replay(body: bytes, receive):
    """The body already read, then the real channel (a disconnect is still heard)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _capture(app, scope, receive) -> tuple[int, bytes]:
    status, chunks = 500, []

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
