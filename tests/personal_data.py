"""Looking for personal data (contact names, phone numbers, e-mails) in the bytes a real run stored."""

import re
from pathlib import Path

# Any e-mail address, beyond the offers' own: strict enough not to match random bytes of a
# binary artifact (seen: "7@nn.YY" inside a model file).
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]{2,}(?:\.[A-Za-z0-9-]{2,})*\.(?:fr|com|org|net|eu|io)\b")


def personal_strings(raw_offers: list[dict]) -> set[str]:
    """Contact names, phone numbers and e-mails the offers carry (and recruiters' agency data)."""
    found = set()
    for offer in raw_offers:
        for block in (offer.get("contact") or {}, offer.get("agence") or {}):
            for key in ("nom", "telephone", "courriel"):
                value = block.get(key)
                if isinstance(value, str) and len(value.strip()) >= 6:
                    found.add(value.strip())
    return found


def leaked(paths: list[Path], secrets: set[str]) -> dict[str, list[str]]:
    # Whole values only: a phone number's digits may also occur inside a float in a model file.
    # One alternation, longest first, so that each file is read once.
    alternatives = b"|".join(re.escape(s.encode()) for s in sorted(secrets, key=len, reverse=True))
    pattern = re.compile(rb"(?<![0-9.])(?:" + alternatives + rb")(?![0-9])")
    hits: dict[str, list[str]] = {}
    for path in paths:
        data = path.read_bytes()
        found = [m.decode() for m in pattern.findall(data)]
        found += [m.decode() for m in EMAIL.findall(data)]
        if found:
            hits[str(path)] = sorted(set(found))[:5]
    return hits


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in Path(folder).rglob("*") if p.is_file()]
