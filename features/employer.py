"""The employer's pseudonym: the one employer identifier features, the history and the store see.

An offer's employer is known by its SIRET when the payload has one, else by its name (the public
API v2 gives `entreprise.nom` on about 70 % of offers). Names may be people's names (sole
traders), so neither is ever kept: the schema turns it into HMAC-SHA256(secret key, identifier)
at validation, and only that pseudonym goes further (features, Parquet history, prediction store,
MLflow). Without the key the pseudonym cannot be reversed, even by hashing a list of company
names. The key comes from HARDTOFILL_EMPLOYER_KEY; unset, a random key is created once in the
data directory (<data_dir>/employer_key, readable by its owner only), so that training and
serving on one machine agree. Changing the key makes every employer new: the employer context
of the champion then finds nobody, and the features fall back to the market's (neutral) values.
"""

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

PSEUDONYM_LENGTH = 20  # hex characters (80 bits): no collision among millions of employers
_SPACES = re.compile(r"\s+")
_SIRET = re.compile(r"^\d{14}$")


def _key_file(directory: Path) -> bytes:
    path = directory / "employer_key"
    if not path.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".employer_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as stream:
            stream.write(secrets.token_hex(32))
        try:
            os.link(partial, path)  # atomic: of two processes creating it, one key wins
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_text(encoding="ascii").strip().encode()


@lru_cache(maxsize=1)
def employer_secret() -> bytes:
    from hardtofill.settings import get_settings

    settings = get_settings()
    if settings.employer_key is not None:
        return settings.employer_key.get_secret_value().encode()
    return _key_file(Path(settings.data_dir))


def employer_identifier(siret: object, name: object) -> str | None:
    """The identifier pseudonymised: a 14-digit SIRET, else the name (case and spaces folded)."""
    if isinstance(siret, str) and _SIRET.match(siret.replace(" ", "")):
        return "siret:" + siret.replace(" ", "")
    if isinstance(name, str) and (folded := _SPACES.sub(" ", name).strip().casefold()):
        return "name:" + folded
    return None


def employer_pseudonym(siret: object, name: object) -> str | None:
    identifier = employer_identifier(siret, name)
    if identifier is None:
        return None
    # Not memoised: a cache would keep employers' names (maybe a person's) in memory for good.
    digest = hmac.new(employer_secret(), identifier.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]
