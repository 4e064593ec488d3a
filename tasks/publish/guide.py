"""The « Guide de réponse » annex generated from the clauses present in the pieces."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from tasks import fmt
from tasks.clausier.library import Clausier
from tasks.dossier.model import Clause, Critere, CritereType, Tender
from tasks.dossier.reader import Dossier
from tasks.publish.base import GUIDE_STEM
from tasks.publish.pieces import ClauseUse, RenderedPiece


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|$@])", r"\\\1", " ".join(text.split()))


def _fmt_pct(x: float) -> str:
    """« 12,5 % » (number through Babel fr_FR, :func:`tasks.fmt.number`; the space before
    « % » becomes the narrow no-break space of the assembly's typography pass)."""
    return f"{fmt.number(x)} %"


def _criteria_rows(criteres: Iterable[Critere], depth: int = 0) -> list[str]:
    rows: list[str] = []
    for c in criteres:
        name = ("— " * depth) + _md_escape(c.nom)
        rows.append(f"| {name} | {_fmt_pct(c.poids)} |")
        rows.extend(_criteria_rows(c.sousCriteres, depth + 1))
    return rows


def _scoring(clause: Clause, tender: Tender) -> str:
    """How a clause is judged: the criteria it feeds (from its DECP mapping) or « non notée »."""
    kinds: list[CritereType] = []
    if "Critère environnemental" in clause.decp.considerationsEnvironnementales:
        kinds += [CritereType.environnement, CritereType.cout]
    if "Critère social" in clause.decp.considerationsSociales:
        kinds.append(CritereType.social)
    if kinds:
        crits = [c for c in tender.criteres if c.type in kinds]
        if crits:
            return (
                "Notée au titre du critère "
                + " ; ".join(
                    f"« {_md_escape(c.nom)} » ({_fmt_pct(c.poids)} de la note)" for c in crits
                )
                + "."
            )
        return "Notée au titre d'un critère d'attribution (voir le règlement de la consultation)."
    return (
        "Non notée : exigence ou condition d'exécution qui s'impose à tous les candidats ; "
        "une offre qui ne la respecte pas est irrégulière."
    )


def bidder_guide(
    dossier: Dossier, clausier: Clausier, rendered: list[RenderedPiece]
) -> RenderedPiece:
    """The « Guide de réponse » annex: criteria and weights, then each clause present.

    For each library clause found in the rendered pieces: where it is (piece, article),
    what the bidder must supply (``bidder_guidance``), how it is judged (criterion and
    weight from tender.yaml, or not scored), and its legal basis.
    """
    t = dossier.tender
    lines = [
        "# Guide de réponse",
        "",
        f"Consultation n° {_md_escape(t.id)} — {_md_escape(t.objet)}.",
        "",
        "Ce guide, établi à partir des clauses du dossier, indique pour chaque exigence "
        "responsable ce que le candidat doit fournir et comment sa réponse est appréciée. "
        "Il ne remplace pas le règlement de la consultation, qui prévaut en cas de divergence.",
        "",
        "## Critères d'attribution et pondérations",
        "",
    ]
    if t.criteres:
        lines += ["| Critère | Pondération |", "|---|---|", *_criteria_rows(t.criteres), ""]
    else:
        lines += ["Les critères sont fixés par le règlement de la consultation.", ""]
    seen: dict[str, list[ClauseUse]] = {}
    for r in rendered:
        for u in r.uses:
            seen.setdefault(u.clause_id, []).append(u)
    lines += ["## Exigences responsables du dossier", ""]
    if not seen:
        lines += ["Le dossier ne contient pas de clause du clausier.", ""]
    for cid, uses in seen.items():
        c = clausier.get(cid)
        if c is None:
            continue
        where = " ; ".join(
            dict.fromkeys(
                f"{PurePosixPath(u.piece).stem.upper()}" + (f", {u.heading}" if u.heading else "")
                for u in uses
            )
        )
        lines += [
            f"### {_md_escape(c.title)} ({c.id})",
            "",
            f"**Où** : {_md_escape(where)}.",
            "",
            f"**Ce qui est demandé et les justificatifs à fournir** : {_md_escape(c.bidder_guidance)}",
            "",
            f"**Appréciation** : {_scoring(c, t)}",
            "",
            "**Fondement** : "
            + " ; ".join(
                _md_escape(ref)
                for ref in [p.reference().ref for p in clausier.origin(cid)]
                + [lb.ref for lb in c.legal_basis]
            )
            + ".",
            "",
        ]
    return RenderedPiece(GUIDE_STEM, "guide", GUIDE_STEM, "\n".join(lines))
