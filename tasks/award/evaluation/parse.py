"""Reading evaluation.yaml: YAML, model validation, placeholders, then the rules (``rules``).

Every error is an :class:`~tasks.errors.InputError` in French naming the file, the line,
the offer and the criterion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tasks.dossier.model import Tender
from tasks.dossier.yamlio import data_loc, field_path, french_error, load_yaml, validate_yaml
from tasks.errors import InputError

from .model import EVALUATION_FILE, PLACEHOLDER, Evaluation
from .rules import cross_check
from .view import Ctx


def parse_evaluation(raw: bytes | str, file: str, tender: Tender) -> Evaluation:
    """Validate evaluation.yaml against its model and against the tender's RC criteria.

    Checks (each failure names the offer and criterion, the file and the line):
    weights equal to tender.yaml's (R2152-7: the criteria and weights announced are
    those applied), every leaf criterion given a method, a formula for price/cost
    criteria and none elsewhere, every offer kept scored on every qualitative leaf with
    a note within the scale and a written justification, offers on known lots, no
    duplicate offer id, no bidder (SIRET) twice on a lot except for variants, price
    total consistent with the BPU/DQE lines, evaluators named in ``evaluateurs``.

    Raises:
        InputError: the first problem found, in French.
    """
    _check_placeholders(raw, file)
    data, node = load_yaml(raw, file)
    if not isinstance(data, dict):
        raise InputError("le fichier doit contenir une table YAML (clé : valeur).", file, 1)
    ctx = Ctx(data, node, file)
    _codes_as_text(data)
    try:
        ev = Evaluation.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = data_loc(first.get("loc", ()))
        field = field_path(loc)
        more = f" (et {len(errors) - 1} autre(s) erreur(s))" if len(errors) > 1 else ""
        raise ctx.fail(loc, f"champ « {field} » : {french_error(first)}{more}.") from None
    cross_check(ev, tender, ctx)
    return ev


def _codes_as_text(data: dict[str, Any]) -> None:
    """YAML reads « 2.1: … » as a float key: criteria codes become text, in place in the
    data read (the consultation's, each lot's, the offers' notes, the tie-breaks)."""
    sets = [data]
    if isinstance(data.get("lots"), dict):
        sets += [m for m in data["lots"].values() if isinstance(m, dict)]
    if isinstance(data.get("offres"), list):
        for o in data["offres"]:
            if isinstance(o, dict) and isinstance(o.get("notes"), dict):
                o["notes"] = {_code(k): v for k, v in o["notes"].items()}
    for d in sets:
        if isinstance(d.get("criteres"), dict):
            d["criteres"] = {_code(k): v for k, v in d["criteres"].items()}
        if isinstance(d.get("departage"), list):
            d["departage"] = [_code(k) for k in d["departage"]]


def _check_placeholders(raw: bytes | str, file: str) -> None:
    """Refuse a template value left as « À COMPLÉTER » (comments excluded), with its line."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    for no, line in enumerate(text.splitlines(), 1):
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#") or PLACEHOLDER not in code:
            continue
        key = code.split(":", 1)[0].strip(" -{\"'") if ":" in code else ""
        raise InputError(
            f"valeur « {PLACEHOLDER} » du modèle encore présente"
            + (f" (champ « {key} »)" if key else "")
            + " : remplacez-la par la donnée réelle (voir le commentaire au-dessus).",
            file,
            no,
        )


def _code(k: Any) -> str:
    if isinstance(k, float):
        return repr(k)  # 2.1 -> "2.1"
    return str(k).strip()


def read_evaluation(
    dossier: str | Path, evaluation_file: str = EVALUATION_FILE
) -> tuple[Tender, Evaluation, str]:
    """Read tender.yaml and evaluation/evaluation.yaml of a dossier on disk.

    Returns ``(tender, evaluation, display path of the evaluation file)``.

    Raises:
        InputError: missing or invalid files (see :func:`parse_evaluation`).
    """
    root = Path(dossier)
    tpath = root / "tender.yaml"
    epath = root / evaluation_file
    for path in (tpath, epath):
        if path.is_symlink() and not path.is_file():
            raise InputError(
                "lien symbolique cassé ou en boucle : remplacez-le par le fichier.", str(path)
            )
    if not tpath.is_file():
        raise InputError(
            "tender.yaml introuvable : ce n'est pas un dossier de consultation.", str(root)
        )
    if not epath.is_file():
        raise InputError(
            "fichier d'évaluation absent : créez evaluation/evaluation.yaml ; « cahier evaluate "
            f"{root} --modele » l'écrit pour vous, commenté, à partir des critères et "
            "pondérations de tender.yaml (il reste à saisir les évaluateurs, les offres, leurs "
            "prix en € HT et leurs notes motivées).",
            str(epath),
        )
    inside = root.resolve()
    for path in (tpath, epath):
        if not path.resolve().is_relative_to(inside):
            raise InputError(
                "chemin hors du dossier : ce lien symbolique pointe en dehors du dossier de la "
                "consultation (il n'est pas lu) ; copiez le fichier dans le dossier au lieu de "
                "le lier.",
                str(path),
            )
    tender = validate_yaml(Tender, tpath.read_bytes(), str(tpath))
    return tender, parse_evaluation(epath.read_bytes(), str(epath), tender), str(epath)
