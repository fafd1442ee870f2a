"""API keys: one per client dashboard. Only a key's SHA-256 hash is stored; checks compare the
hash of the presented key with every active hash in constant time, so neither the key nor the
timing tells anything."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "htf_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # Keys are 256-bit random strings: a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_owner(presented: str | None, active_hashes: dict[str, str]) -> str | None:
    """The name of the active key `presented` is, or None."""
    if not presented:
        return None
    digest = hash_key(presented)
    owner = None
    for name, stored in active_hashes.items():
        # No early exit: compare against every key so the time does not depend on which matched.
        if hmac.compare_digest(digest, stored):
            owner = name
    return owner


def bearer_token(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer KEY` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
