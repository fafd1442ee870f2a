"""Whether this worker process serves a model, for what runs in front of the service.

The service records at start-up why it serves no model (no champion, broken artifacts); the
guard reads it to answer /score_one with the 503 and the reason /score gives, before BentoML's
adaptive batching takes the request (a batched call can only fail as a whole, with a generic 500
message).
"""

_unavailable: str | None = None


def record(reason: str | None) -> None:
    global _unavailable
    _unavailable = reason


def unavailable() -> str | None:
    """Why this process serves no model, or None (it serves one, or no service runs here)."""
    return _unavailable
