"""French departments and the regions they belong to (2016 regions, overseas included).

Region names are spelled as in the BMO survey tables (../shared/reference/FIGURES.md §3).
"""

REGION_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Auvergne-Rhône-Alpes": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "Bourgogne-Franche-Comté": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "Bretagne": ("22", "29", "35", "56"),
    "Centre-Val de Loire": ("18", "28", "36", "37", "41", "45"),
    "Corse": ("2A", "2B"),
    "Grand Est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "Hauts-de-France": ("02", "59", "60", "62", "80"),
    "Île-de-France": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "Normandie": ("14", "27", "50", "61", "76"),
    "Nouvelle-Aquitaine": (
        "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
    ),
    "Occitanie": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "Pays de la Loire": ("44", "49", "53", "72", "85"),
    "Provence-Alpes-Côte d'Azur": ("04", "05", "06", "13", "83", "84"),
    "Guadeloupe": ("971",),
    "Martinique": ("972",),
    "Guyane": ("973",),
    "La Réunion": ("974",),
    "Mayotte": ("976",),
}

DEPARTMENT_REGION: dict[str, str] = {
    department: region
    for region, departments in REGION_DEPARTMENTS.items()
    for department in departments
}

OVERSEAS_DEPARTMENTS = frozenset({"971", "972", "973", "974", "976"})


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("-", " ")


REGION_BY_FOLDED_NAME: dict[str, str] = {_fold(region): region for region in REGION_DEPARTMENTS}
# Older names that still appear in payloads.
REGION_BY_FOLDED_NAME.update({"reunion": "La Réunion", "ile de france": "Île-de-France"})


def region_of_department(department: str | None) -> str | None:
    return DEPARTMENT_REGION.get(department) if department else None


def region_from_name(name: str) -> str | None:
    """A region named in full ("Hauts-de-France"), accents and case ignored."""
    return REGION_BY_FOLDED_NAME.get(_fold(name.strip()))
