"""The `Idempotency-Key` request header of /feedback (IETF draft "The Idempotency-Key HTTP Header
Field"): the client makes one key per feedback it means to record and sends it again on every retry
of that feedback; the store then keeps one row and answers the retry as it answered the first.

The key must be a UUID (e.g. `crypto.randomUUID()`), optionally quoted as the draft writes it: hex
digits and hyphens only, so no free text (a name, a phone number) can reach the store through it.
The header is optional; without it a retried request is stored again.
"""

import re
import uuid

HEADER = "Idempotency-Key"
MAX_LENGTH = 64  # longer values are refused before any parsing
_UUID = re.compile(r'"?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"?')
EXAMPLE = "8e03978e-40d5-43e8-bc93-6894a57f9324"


class InvalidIdempotencyKey(ValueError):
    """A message in French naming the header; the value itself is never echoed (it may hold anything)."""


def parse_idempotency_key(values: list[str]) -> str | None:
    """The key of a request (every value the header took), as a lower-case UUID; None when absent."""
    if not values:
        return None
    if len(values) > 1:
        raise InvalidIdempotencyKey(f"en-tête {HEADER} répété : envoyez-le une seule fois")
    value = values[0].strip()
    match = _UUID.fullmatch(value) if len(value) <= MAX_LENGTH else None
    if match is None:
        raise InvalidIdempotencyKey(f"en-tête {HEADER} invalide : attendu un UUID de 36 caractères "
                                    f"(chiffres hexadécimaux et tirets, par exemple {EXAMPLE}), unique "
                                    "pour chaque retour et renvoyé tel quel en cas de nouvel essai")
    return str(uuid.UUID(match.group(1)))
