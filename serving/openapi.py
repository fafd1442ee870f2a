"""A truthful OpenAPI document: BentoML's `/docs.json`, with the API routes described as they are.

BentoML describes each route from the method's signature: offers as untyped objects, error
`detail` as a string, no security, no 401/413/415/429/503. Here the API routes get their
real request bodies (offers typed as the API v2 schema, strict top level), their real answers,
every status they give with the error body they give, and the bearer key they need. The
document is OpenAPI 3.1, whose schemas are JSON Schema as pydantic writes them.
"""

import copy

from pydantic.json_schema import models_json_schema

from serving.schemas import (
    ROUTE_REQUESTS,
    ErrorResponse,
    ExplainResponse,
    FeedbackAnswer,
    LatestResponse,
    ScoreOneResponse,
    ScoreResponse,
)

REF = "#/components/schemas/{model}"
ANSWERS = {"/score": ScoreResponse, "/score_one": ScoreOneResponse, "/explain": ExplainResponse,
           "/feedback": FeedbackAnswer, "/latest": LatestResponse}
SUMMARIES = {
    "/score": "Score offers (API v2 shape): probability, risk band, reasons, advice; invalid offers "
              "are listed in `refused` with every faulty field while the valid ones are scored.",
    "/score_one": "One offer, answered as /score answers it, in a list of one: for many clients each "
                  "sending one offer (adaptive batching merges their offers into one model call).",
    "/explain": "One offer: every contribution, the base rate and the four CRPA items.",
    "/feedback": "An adviser's action (codes only) and/or the offer's outcome.",
    "/latest": "The latest scored offers, riskiest first.",
}
ERRORS = {
    400: "Invalid request: the message (in French) names every faulty field; for offers, their "
         "index and id.",
    401: "No API key, or an unknown or revoked one (`Authorization: Bearer <key>`).",
    413: "Body larger than HARDTOFILL_MAX_BODY_BYTES, or more offers than serving.max_batch.",
    415: "The body is not JSON (`Content-Type: application/json` only).",
    429: "Too many requests at once: retry later.",
    503: "No model served (no champion), or the service is overloaded: retry later.",
}


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}}}


def complete(document: dict, max_batch: int | None = None) -> dict:
    """BentoML's document with the API routes described truthfully."""
    document = copy.deepcopy(document)
    document["openapi"] = "3.1.0"
    pairs = [(model, "validation") for model in ROUTE_REQUESTS.values()]
    pairs += [(model, "serialization") for model in (*ANSWERS.values(), ErrorResponse)]
    keys, defs = models_json_schema(pairs, ref_template=REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    if max_batch is None:
        from serving.scoring import ServingParams

        max_batch = ServingParams.load().max_batch
    schemas["ScoreRequest"]["properties"]["offers"]["maxItems"] = max_batch
    document["components"]["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "An API key (`hardtofill keys create NAME`)."}}
    paths = document.setdefault("paths", {})
    for path, request in ROUTE_REQUESTS.items():
        operation = {
            "operationId": f"hardtofill__{path.strip('/')}",
            "summary": SUMMARIES[path],
            "tags": ["Service APIs"],
            "security": [{"bearerAuth": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": keys[(request, "validation")]}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": keys[(ANSWERS[path], "serialization")]}}},
                **{str(status): _error_response(text) for status, text in ERRORS.items()},
            },
        }
        if path == "/feedback":
            from serving.idempotency import MAX_LENGTH

            operation["parameters"] = [{
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "A UUID chosen by the client for this feedback (optionally quoted): sent "
                               "again (a retry), the same key stores one row and gets the same answer.",
                "schema": {"type": "string", "maxLength": MAX_LENGTH,
                           "pattern": '^"?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-'
                                      '[0-9A-Fa-f]{12}"?$'}}]
            operation["responses"]["422"] = _error_response(
                "The Idempotency-Key was already used for another feedback: make a new key per feedback.")
        paths[path] = {"post": operation}
    return document
