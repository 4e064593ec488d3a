"""The auditor's timeline of a dossier (:func:`timeline`), read from its Git history.

See :mod:`tasks.award.audit` for what the timeline shows.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from tasks.errors import InputError

from .archive_git import _tree_entry, leads_to_commit
from .archive_plan import ARCHIVE_DIR, sha256
from .archive_plan import join_path as _join
from .audit_common import Event, open_audit, tender_id_of

__all__ = ["timeline"]

_REVIEW_LABELS = {
    "approved": "valide",
    "lapsed": "caduque",
    "pending": "en attente",
    "changes-requested": "modifications demandées",
}


def _kind(path: str, rel: str) -> str:
    sub = path[len(rel) + 1 :] if rel else path
    if sub == "tender.yaml" or sub.startswith("pieces/"):
        return "rédaction"
    for prefix, kind in (
        ("reviews/", "revue"),
        ("evaluation/", "évaluation"),
        (ARCHIVE_DIR + "/", "archive"),
        ("out/", "assemblage"),
    ):
        if sub.startswith(prefix):
            return kind
    return "autre"


def _changes_by_kind(c: Any, rel: str) -> dict[str, list[str]]:
    """Files of the dossier changed by commit ``c``, by kind (« rédaction », « revue »…),
    each as « path (+insertions −deletions) »."""
    stats = c.stats.files
    changed = {p: s for p, s in stats.items() if not rel or str(p).startswith(rel + "/")}
    kinds: dict[str, list[str]] = {}
    for p, s in changed.items():
        label = f"{str(p)[len(rel) + 1 :] if rel else p} (+{s['insertions']} −{s['deletions']})"
        kinds.setdefault(_kind(str(p), rel), []).append(label)
    return kinds


def _check_event(dossier: Any, c: Any, author: str, lib: Any) -> Event:
    """The check of the dossier as committed by ``c`` (replayable: read at that commit)."""
    from tasks.check.checker import check_dossier
    from tasks.dossier.reader import read_dossier

    try:
        report = check_dossier(read_dossier(dossier, rev=c.hexsha), lib)
        summary = (
            f"contrôle du commit {c.hexsha[:10]} : {report.errors} erreur(s), "
            f"{report.warnings} avertissement(s) (clausier {report.clausier_version})"
        )
        details = [f.message for f in report.findings if f.severity == "error"][:5]
    except InputError as exc:
        summary = f"contrôle du commit {c.hexsha[:10]} impossible : {exc.render()}"
        details = []
    return Event(c.committed_datetime, "contrôle", c.hexsha, author, summary, details)


def _commit_events(
    dossier: Any, c: Any, rel: str, tags: dict[str, str], lib: Any | None
) -> list[Event]:
    """The events of one commit: one per kind of file changed, then its check when it
    changed tender.yaml or a piece (and ``lib`` is given)."""
    kinds = _changes_by_kind(c, rel)
    author = f"{c.author.name} <{c.author.email}>"
    events = []
    for kind, files in kinds.items():
        details = list(files)
        if kind == "revue":
            details += _review_details(c, rel)
        if kind == "archive" and c.hexsha in tags:
            details.append(f"étiquette {tags[c.hexsha]}")
        events.append(Event(c.committed_datetime, kind, c.hexsha, author, c.summary, details))
    if lib is not None and "rédaction" in kinds:
        events.append(_check_event(dossier, c, author, lib))
    return events


def _review_state_event(
    dossier: Any, head: Any | None, clausier_path: str | os.PathLike[str] | None
) -> Event | None:
    """The state of the referent reviews at HEAD (counts by status), dated by ``head``
    (the dossier's last commit), or None."""
    from tasks.review.reviews import review_status

    if head is None:
        return None
    try:
        entries = review_status(dossier, rev="HEAD", clausier_path=clausier_path)
    except InputError as exc:  # never a silent gap in the timeline: say why
        return Event(
            head.committed_datetime,
            "revue",
            head.hexsha,
            "",
            "état des revues à HEAD non établi : aucune approbation ne peut être comptée",
            [exc.render()],
        )
    if not entries:
        return None
    counts: dict[str, int] = {}
    for e in entries:
        label = _REVIEW_LABELS.get(e.status, e.status)
        counts[label] = counts.get(label, 0) + 1
    return Event(
        head.committed_datetime,
        "revue",
        head.hexsha,
        "",
        "état des revues à HEAD : " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
        [e.message() for e in entries][:40],
    )


def _assembly_event(top: Path, tender_id: str) -> Event | None:
    """The assembly manifest (outside Git), at its file time, or None."""
    assembly = top / "out" / tender_id / "manifest.json"
    if not assembly.is_file():
        return None
    mtime = dt.datetime.fromtimestamp(assembly.stat().st_mtime, dt.UTC).astimezone()
    return Event(
        mtime,
        "assemblage",
        "",
        "",
        f"manifeste d'assemblage out/{tender_id}/manifest.json "
        f"(SHA-256 {sha256(assembly.read_bytes())[:16]}…, hors Git)",
    )


def timeline(
    dossier: str | os.PathLike[str],
    *,
    run_checks: bool = True,
    clausier_path: str | os.PathLike[str] | None = None,
) -> list[Event]:
    """The dossier's history, oldest first (see :mod:`tasks.award.audit`).

    Raises:
        InputError: not a Git repository, dossier without tender.yaml.
    """
    from tasks.clausier.library import load_clausier

    repo, top, rel, _ = open_audit(dossier)
    events: list[Event] = []
    lib = load_clausier(clausier_path) if run_checks else None
    with repo:
        tender_id = tender_id_of(repo, top, rel)
        tags = {
            t.commit.hexsha: t.name
            for t in repo.tags
            if t.name.startswith(f"cahier/{tender_id}/") and leads_to_commit(t)
        }
        commits = list(repo.iter_commits("HEAD", paths=rel or "."))
        for c in reversed(commits):
            events += _commit_events(dossier, c, rel, tags, lib)
        state = _review_state_event(dossier, commits[0] if commits else None, clausier_path)
        assembly = _assembly_event(top, tender_id)
        events += [e for e in (state, assembly) if e is not None]
    events.sort(key=lambda e: e.when)  # stable: same-time events keep their order
    return events


def _review_details(c: Any, rel: str) -> list[str]:
    import yaml

    out: list[str] = []
    for p in c.stats.files:
        p = str(p)
        if not p.startswith(_join(rel, "reviews") + "/"):
            continue
        entry = _tree_entry(c, p)
        if entry is None or entry.type != "blob":
            out.append(f"{p} supprimé")
            continue
        try:
            data = yaml.safe_load(entry.data_stream.read())
        except yaml.YAMLError:
            continue
        if isinstance(data, dict):
            rev = data.get("reviewer") or {}
            who = rev.get("nom") if isinstance(rev, dict) else rev
            line = f"revue {data.get('role', '?')} : décision {data.get('decision', '?')} par {who}"
            if data.get("provenance") == "demonstration":
                line += " — démonstration (non probante)"
            rec = data.get("recorded_by")
            if isinstance(rec, dict) and rec.get("email"):
                line += f", enregistrée par {rec.get('nom') or ''} <{rec['email']}> pour son compte"
            out.append(line)
    return out
