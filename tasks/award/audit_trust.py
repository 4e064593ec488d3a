"""Audit checks that the archive files alone cannot make (docs/evaluation-archive.md,
« Ce qui est prouvé »), each a function returning its problems, composed by
:func:`trust_checks`: an archive number created twice, tags without their fields,
review records changed since an archive, replaced objects and grafts, each archived
evaluation recomputed from its inputs, the user's index staging a deletion."""

from __future__ import annotations

import json
from typing import Any

from tasks.errors import InputError
from tasks.git import Repo

from .archive_plan import (
    MANIFEST,
    is_archive_name,
    read_manifest,
    read_reviews_file,
    sha256,
    tag_name,
)
from .archive_plan import join_path as _join
from .audit_common import Problem, archive_creations, tag_fields

__all__ = ["trust_checks"]


def recreated_archives(repo: Repo, arch_rel: str, tender_id: str) -> list[Problem]:
    """One archive number, one creation: a deleted then re-created archive n is reported."""
    out = []
    for n, shas in sorted(archive_creations(repo, tender_id).items()):
        if len(set(shas)) > 1:
            first, last = shas[-1], shas[0]
            out.append(
                Problem(
                    "archive-recreee",
                    f"l'archive n° {n} a été créée plusieurs fois (commit {first[:12]}, puis "
                    f"commit {last[:12]}) : une archive supprimée puis refaite sous le même "
                    "numéro est un remplacement ; une correction est l'archive suivante.",
                    _join(arch_rel, str(n)),
                    last,
                )
            )
    return out


def incomplete_tags(arch_rel: str, tender_id: str, tags: dict[int, Any]) -> list[Problem]:
    """Annotated tags must carry the fields cahier writes (``Commit``, ``Manifeste-SHA256``)."""
    out = []
    for n, tag in sorted(tags.items()):
        if tag.tag is None:
            continue
        fields = tag_fields(tag.tag)
        missing = [k for k in ("Commit", "Manifeste-SHA256") if not fields.get(k)]
        if missing:
            out.append(
                Problem(
                    "etiquette-incomplete",
                    f"l'étiquette {tag_name(tender_id, n)} n'a pas les champs "
                    f"{', '.join(missing)} que cahier y écrit : étiquette refaite à la main "
                    "(archive modifiée puis réétiquetée ?).",
                    _join(arch_rel, str(n)),
                    tag.commit.hexsha,
                )
            )
    return out


def reviews_changed(repo: Repo, rel: str, arch_rel: str, head: str) -> list[Problem]:
    """Review records listed in an archive's reviews.json, deleted or changed since."""
    out: list[Problem] = []
    reviews_dir = _join(rel, "reviews")
    now = {name: blob for _m, typ, blob, name in repo.tree(head, reviews_dir) if typ == "blob"}
    for _m, typ, _b, name in repo.tree(head, arch_rel):
        if typ != "tree" or not is_archive_name(name):
            continue
        raw = repo.blob(head, _join(arch_rel, name, "reviews.json"))
        parsed = read_reviews_file(raw)
        if parsed is None:
            continue  # reported by the file checks (hash of reviews.json)
        listed = parsed.get("records", [])
        for entry in listed:
            base = str(entry.get("file", "")).rsplit("/", 1)[-1]
            blob = now.get(base)
            data = repo.blobs([blob])[0] if blob else None
            if data is None or sha256(data) != entry.get("sha256"):
                culprit = repo.log("-1", head, paths=[_join(reviews_dir, base)])
                who = (
                    f" par {culprit[0].author_name} <{culprit[0].author_email}> (commit "
                    f"{culprit[0].sha[:12]})"
                    if culprit
                    else ""
                )
                out.append(
                    Problem(
                        "revue-modifiee-apres-archive",
                        f"l'enregistrement de revue {base}, figé par l'archive n° {name}, a été "
                        + ("supprimé" if data is None else "modifié")
                        + f" après l'archivage{who}.",
                        _join(reviews_dir, base),
                        culprit[0].sha if culprit else None,
                    )
                )
    return out


def replaced_objects(repo: Repo) -> list[Problem]:
    """Grafts and replacement objects (« git replace »): ignored by cahier
    (GIT_NO_REPLACE_OBJECTS), but they show other people another commit or file under
    the same id."""
    out = []
    grafts = repo.common_dir / "info" / "grafts"
    if grafts.is_file() and grafts.read_bytes().strip():
        out.append(
            Problem(
                "greffes",
                "le dépôt a des greffes (.git/info/grafts) qui réécrivent les parents de commits : "
                "ignorées par cette vérification, mais elles cachent une partie de l'historique "
                "aux autres commandes ; supprimez-les et cherchez qui les a créées.",
                ".git/info/grafts",
            )
        )
    replaced = repo.text("for-each-ref", "--format=%(refname)", "refs/replace/").split()
    if replaced:
        out.append(
            Problem(
                "objet-remplace",
                f"{len(replaced)} objet(s) Git remplacé(s) par « git replace » "
                f"({replaced[0].removeprefix('refs/replace/')[:12]}…) : ignorés par cette "
                "vérification, mais « git show » et « git log » montrent d'autres contenus que "
                "ceux archivés ; supprimez-les (git replace -d) et cherchez qui les a créés.",
            )
        )
    return out


def index_deletions(repo: Repo, rel: str, arch_rel: str, head: str) -> list[Problem]:
    """The user's index must not stage the deletion of a review record or archive file."""
    out = []
    for prefix in (_join(rel, "reviews"), arch_rel):
        in_head = {
            _join(prefix, name)
            for _m, typ, _b, name in repo.tree(head, prefix, recursive=True)
            if typ == "blob"
        }
        staged = repo.index_entries(prefix + "/")
        gone = sorted(in_head - set(staged))
        if gone:
            out.append(
                Problem(
                    "index-suppression",
                    f"l'index Git prépare la suppression de {gone[0]}"
                    + (f" (et de {len(gone) - 1} autre(s) fichier(s))" if len(gone) > 1 else "")
                    + " : le prochain commit l'effacerait. Lancez « cahier archive » ou « cahier "
                    "review » (ils réparent l'index) ou « git reset -q -- " + prefix + " ».",
                    gone[0],
                )
            )
    return out


def trust_checks(
    repo: Repo, rel: str, arch_rel: str, tender_id: str, head: str, tags: dict[int, Any]
) -> list[Problem]:
    """Every check of this module, in this order: archive recreated, incomplete tags,
    review records changed, grafts and replaced objects, evaluation recomputed, index
    staging a deletion."""
    return [
        *recreated_archives(repo, arch_rel, tender_id),
        *incomplete_tags(arch_rel, tender_id, tags),
        *reviews_changed(repo, rel, arch_rel, head),
        *replaced_objects(repo),
        *recompute(repo, arch_rel, tender_id, head, tags),
        *index_deletions(repo, rel, arch_rel, head),
    ]


def _ranking(data: Any) -> list[tuple]:
    """The structured values compared: per lot, the winner, and each offer's rank and
    total (rounded to the cent)."""
    out = []
    for lot in data.get("lots", []) if isinstance(data, dict) else []:
        out.append(("lot", lot.get("lot"), "laureat", lot.get("laureat")))
        for o in lot.get("offres", []):
            total = o.get("total")
            out.append(
                (
                    lot.get("lot"),
                    o.get("id"),
                    o.get("rang"),
                    None if total is None else round(total, 2),
                )
            )
    return out


def _recompute_archive(repo: Repo, head: str, folder: str, name: str) -> Problem | None:
    """Archive ``name`` (folder ``folder``) recomputed at its source commit: None when it
    matches or cannot be compared (unreadable files, no or another method recorded)."""
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    from .evaluation import EVALUATION_FILE, METHOD_VERSION, evaluate, parse_evaluation

    man = read_manifest(repo.blob(head, _join(folder, MANIFEST)))
    try:
        archived = json.loads(repo.blob(head, _join(folder, "evaluation.json")) or b"{}")
    except (ValueError, RecursionError):
        return None  # reported by the file checks
    if man is None or not isinstance(archived, dict):
        return None  # not the objects cahier wrote: the file checks report them
    source = man.get("source_commit")
    method = man.get("methode_evaluation")
    if not source or method is None:
        return None  # archive made before the method was recorded: nothing to compare
    if str(method) != METHOD_VERSION:
        return None  # another method: not comparable, and not tampering (see method_notes)
    dossier_then = str(man.get("dossier") or "")
    tender_raw = repo.blob(source, _join(dossier_then, "tender.yaml"))
    ev_raw = repo.blob(source, _join(dossier_then, EVALUATION_FILE))
    if tender_raw is None or ev_raw is None:
        return Problem(
            "evaluation-introuvable",
            f"archive n° {name} : evaluation.yaml ou tender.yaml introuvable au commit "
            f"source {source[:12]} : l'évaluation archivée ne peut pas être recalculée.",
            folder,
            source,
        )
    try:
        tender = validate_yaml(Tender, tender_raw, "tender.yaml")
        result = evaluate(parse_evaluation(ev_raw, EVALUATION_FILE, tender), tender)
    except InputError as exc:
        return Problem(
            "evaluation-non-recalculable",
            f"archive n° {name} : l'évaluation du commit source {source[:12]} ne se "
            f"recalcule pas ({exc.message}).",
            folder,
            source,
        )
    again = _ranking(result.model_dump(mode="json"))
    if again == _ranking(archived):
        return None
    diff = next((a for a, b in zip(again, _ranking(archived), strict=False) if a != b), None)
    return Problem(
        "evaluation-differente",
        f"archive n° {name} : le classement recalculé depuis evaluation.yaml du "
        f"commit {source[:12]} diffère de evaluation.json archivé (premier écart : "
        f"{diff}) ; le résultat archivé ne découle pas de ses données.",
        _join(folder, "evaluation.json"),
        source,
    )


def recompute(
    repo: Repo, arch_rel: str, tender_id: str, head: str, tags: dict[int, Any]
) -> list[Problem]:
    """Recompute each archive's evaluation from ``evaluation.yaml`` and ``tender.yaml`` at
    its source commit and compare ranks, totals and winners with ``evaluation.json``
    (structured values, see :func:`_ranking`); one problem at most per archive."""
    found = (
        _recompute_archive(repo, head, _join(arch_rel, name), name)
        for _m, typ, _b, name in repo.tree(head, arch_rel)
        if typ == "tree" and is_archive_name(name)
    )
    return [p for p in found if p is not None]
