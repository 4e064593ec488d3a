"""A tender.yaml still being completed (a ``cahier import`` draft): the fields left
``null`` are listed, and conservative stand-ins let the checker give every finding that
does not depend on them.

Stand-ins (fail closed: they make more obligations apply, never fewer): ``montant`` above
every EU threshold, all purchase ``categories``, buyer type ``etat``, ``dateLancement``
today (the rules in force today). The checker adds an error ``tender-incomplet`` that
lists the missing fields with their lines, so a dossier with missing fields never passes
nor assembles. Only ``cahier check`` (working tree or ``--rev``) and the check flow read a
dossier this way; every other command
(assembly, DECP, archive) still refuses an incomplete tender.yaml.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from pydantic import ValidationError

from .model import Tender
from .yamlio import field_lines, load_yaml

__all__ = ["COMPLETABLE", "load_incomplete_tender"]

#: Fields a draft may leave empty, and their stand-ins.
COMPLETABLE: dict[str, Any] = {
    "objet": "(objet à compléter)",
    "codeCPV": "00000000",
    "procedure": "Appel d'offres ouvert",
    "dureeMois": 1,
    "ccag": "Pas de CCAG",
    "montant": 1e12,
    "acheteur": {"id": "00000000000000", "nom": "(acheteur à compléter)", "type": "etat"},
    "acheteur.id": "00000000000000",
    "acheteur.nom": "(acheteur à compléter)",
    "acheteur.type": "etat",
    "categories": ["hardware", "software", "services", "cloud", "telecom"],
    "dateLancement": None,  # today
}


def _set(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    holder = data
    for p in parts[:-1]:
        if not isinstance(holder.get(p), dict):
            holder[p] = {}
        holder = holder[p]
    holder[parts[-1]] = value


def load_incomplete_tender(
    raw: bytes | str, file: str
) -> tuple[Tender, dict[str, int], list[str]] | None:
    """``(tender with stand-ins, field lines, missing field paths)``, or None when
    tender.yaml has another problem than empty fields (the caller then reports it)."""
    data, node = load_yaml(raw, file)
    if not isinstance(data, dict):
        return None
    try:
        Tender.model_validate(data)
        return None
    except ValidationError as exc:
        errors = exc.errors()
    missing: set[str] = set()
    patched = copy.deepcopy(data)
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        path = ".".join(loc)
        value = err.get("input")
        empty = err.get("type") == "missing" or value is None or value == [] or value == ""
        if path in COMPLETABLE and empty:
            missing.add(path)
            stand_in = COMPLETABLE[path]
            _set(patched, path, dt.date.today() if path == "dateLancement" else stand_in)
        elif loc[:1] == ["criteres"] and loc[-1:] == ["poids"] and value is None:
            missing.add("criteres (pondérations)")
            patched["criteres"] = []
        else:
            return None
    try:
        tender = Tender.model_validate(patched)
    except ValidationError:
        return None
    return tender, field_lines(node), sorted(missing)
