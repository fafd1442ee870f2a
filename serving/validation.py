"""Bad input, told to advisers in French: which offer (its index and id) and every faulty field.

pydantic's errors are English and may carry the input; here each becomes a French message built
from the error's type and its limits only, never from the value sent. Field paths are the schema's
own names; a key the client invented (an unknown field) is shown only if it looks like a field
name, cut short, so that nothing a client sends is echoed into a log line.
"""

import re
from dataclasses import dataclass

from pydantic import ValidationError

from features.schema import OFFER_ID_LENGTH, OFFER_ID_PATTERN, Offer

_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_OFFER_ID = re.compile(OFFER_ID_PATTERN)

# What a well-formed value looks like, for fields checked by a pattern.
FORMATS = {
    "id": "7 à 9 lettres majuscules ou chiffres, dont au moins un chiffre (ex. 184NQNL)",
    "offer_id": "7 à 9 lettres majuscules ou chiffres, dont au moins un chiffre (ex. 184NQNL)",
    "romeCode": "une lettre de A à N puis 4 chiffres (ex. K2204)",
    "codePostal": "5 caractères (ex. 75011, 20A00 pour la Corse)",
    "commune": "le code INSEE en 5 caractères (ex. 75111)",
    "codeNAF": "ex. 78.20Z",
    "secteurActivite": "2 chiffres (ex. 78)",
    "origine": "1 ou 2 chiffres",
    "deplacementCode": "1 ou 2 chiffres",
    "exigence": "E (exigé) ou S (souhaité)",
    "code": "jusqu'à 10 lettres majuscules ou chiffres",
    "codeFormation": "jusqu'à 10 lettres majuscules ou chiffres",
    "model_version": "un numéro de version (ex. 3)",
}

MESSAGES = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu : il est refusé (aucun texte libre n'est accepté)",
    "string_type": "doit être un texte",
    "string_too_long": "texte trop long (au plus {max_length} caractères)",
    "string_too_short": "texte trop court (au moins {min_length} caractères)",
    "string_pattern_mismatch": "format invalide",
    "bool_type": "doit être un booléen (true ou false, sans guillemets)",
    "bool_parsing": "doit être un booléen (true ou false, sans guillemets)",
    "int_type": "doit être un nombre entier (sans guillemets)",
    "int_parsing": "doit être un nombre entier (sans guillemets)",
    "int_from_float": "doit être un nombre entier",
    "float_type": "doit être un nombre (sans guillemets)",
    "float_parsing": "doit être un nombre (sans guillemets)",
    "finite_number": "doit être un nombre fini",
    "greater_than_equal": "doit valoir au moins {ge}",
    "less_than_equal": "doit valoir au plus {le}",
    "greater_than": "doit être supérieur à {gt}",
    "less_than": "doit être inférieur à {lt}",
    "datetime_type": "date et heure attendues, au format 2025-11-20T10:12:00Z",
    "datetime_parsing": "date et heure invalides (format attendu : 2025-11-20T10:12:00Z)",
    "datetime_from_date_parsing": "date et heure invalides (format attendu : 2025-11-20T10:12:00Z)",
    "datetime_object_invalid": "date et heure invalides (format attendu : 2025-11-20T10:12:00Z)",
    "date_type": "date attendue, au format AAAA-MM-JJ",
    "date_parsing": "date invalide (format attendu : AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date invalide (format attendu : AAAA-MM-JJ)",
    "date_from_datetime_inexact": "date sans heure attendue (format AAAA-MM-JJ)",
    "model_type": "doit être un objet JSON ({{...}})",
    "model_attributes_type": "doit être un objet JSON ({{...}})",
    "dict_type": "doit être un objet JSON ({{...}})",
    "list_type": "doit être une liste JSON ([...])",
    "too_long": "trop d'éléments (au plus {max_length})",
    "too_short": "liste trop courte (au moins {min_length} élément)",
    "literal_error": "valeur inconnue ; valeurs acceptées : {expected}",
    "enum": "valeur inconnue ; valeurs acceptées : {expected}",
    "json_invalid": "JSON invalide",
    "json_type": "JSON invalide",
}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


def field_path(loc: tuple | list) -> str:
    """The field's path (e.g. lieuTravail.codePostal, competences.2.code); a key that is not a
    field name (an unknown key sent by the client) becomes '(champ inconnu)'."""
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(str(part))
        elif isinstance(part, str) and _SAFE_KEY.match(part):
            parts.append(part)
        else:
            parts.append("(champ inconnu)")
    return ".".join(parts) or "(corps)"


def french(error: dict) -> str:
    """The French message of one pydantic error (from its type and limits, never its input)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in ("date_out_of_range", "unknown_code", "malformed_code", "feedback_incomplete", "unknown_version"):
        return str(error.get("msg"))  # raised by our own validators, already in French
    template = MESSAGES.get(kind)
    if template is None:
        return "valeur invalide"
    try:
        message = template.format(**{k: v for k, v in ctx.items() if isinstance(v, (str, int, float))})
    except (KeyError, IndexError, ValueError):
        message = template.split(" (")[0].split(" ;")[0]
    if kind in ("string_pattern_mismatch", "string_too_short", "string_too_long"):
        last = next((p for p in reversed(list(error.get("loc") or ())) if isinstance(p, str)), "")
        if last in FORMATS:
            message = f"format invalide : {FORMATS[last]}"
    return message


def problems(error: ValidationError, prefix: tuple = ()) -> list[FieldProblem]:
    """Every faulty field of a validation error, in French (one entry per field)."""
    found: dict[str, FieldProblem] = {}
    for item in error.errors(include_input=False, include_url=False):
        path = field_path((*prefix, *item["loc"]))
        found.setdefault(path, FieldProblem(path, french(item)))
    return list(found.values())


def safe_offer_id(raw: object) -> str | None:
    """The offer's id if it is one as the API forms it (bounded, no room for personal data)."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str) and OFFER_ID_LENGTH[0] <= len(value) <= OFFER_ID_LENGTH[1] \
            and _OFFER_ID.fullmatch(value):
        return value
    return None


@dataclass(frozen=True)
class RefusedOffer:
    index: int
    offer_id: str | None
    fields: list[FieldProblem]

    @property
    def message(self) -> str:
        where = f"offre n° {self.index + 1} (index {self.index}" + (f", id {self.offer_id})" if self.offer_id
                                                                    else ")")
        return f"{where} refusée : " + " ; ".join(f"'{p.field}' : {p.message}" for p in self.fields)

    def as_dict(self) -> dict:
        return {"index": self.index, "offer_id": self.offer_id, "error": self.message,
                "fields": [p.as_dict() for p in self.fields]}

    def log_text(self) -> str:
        """For the log: index, the id only if well formed, and field names (no values)."""
        fields = ", ".join(p.field for p in self.fields[:10]) + (" ..." if len(self.fields) > 10 else "")
        return f"#{self.index} (id {self.offer_id or 'invalide'}): {fields}"


_validate_offer = Offer.__pydantic_validator__.validate_python  # Offer.model_validate, one call less


def parse_offer(raw: object, index: int) -> Offer | RefusedOffer:
    """The validated offer, or what is wrong with it (every faulty field)."""
    try:
        return _validate_offer(raw)
    except ValidationError as error:
        return RefusedOffer(index, safe_offer_id(raw), problems(error))


def check_offer(raw: object, index: int) -> RefusedOffer | None:
    """None when the offer is valid, else what is wrong with it (every faulty field)."""
    parsed = parse_offer(raw, index)
    return parsed if isinstance(parsed, RefusedOffer) else None


def parse_offers(raws: list, start: int = 0) -> tuple[list[int], list[Offer], list[RefusedOffer]]:
    """(positions of the valid offers, those offers validated, the refused ones): each offer is
    validated once, and a bad offer does not sink the batch. `raws` may be a part of a request
    beginning at position `start`: positions and indexes are the request's."""
    positions, valid, refused = [], [], []
    for index, raw in enumerate(raws, start):
        parsed = parse_offer(raw, index)
        if isinstance(parsed, RefusedOffer):
            refused.append(parsed)
        else:
            positions.append(index)
            valid.append(parsed)
    return positions, valid, refused


def refusal(refused: list[RefusedOffer]) -> tuple[str, dict]:
    """The message and fields of the 400 answer when none of a request's offers is valid: every
    refused offer, and for a single one its faulty fields at the top level too."""
    first = refused[0]
    message = first.message if len(refused) == 1 else (
        f"aucune offre valide : {len(refused)} offres refusées ; " + " ; ".join(r.message for r in refused[:3]))
    return message, {"refused": [r.as_dict() for r in refused],
                     "fields": [p.as_dict() for p in first.fields] if len(refused) == 1 else None}
