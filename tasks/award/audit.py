"""The auditor's view: a tender's timeline from Git history, and archive verification.

:func:`timeline` replays the history of a dossier commit by commit: who changed what
(drafts, evaluation, review records, archives), with the check re-run on every commit
that changed tender.yaml or a piece (``read_dossier(path, rev=sha)``, so the result is
the one anyone gets by replaying that commit), the current state of the referent
reviews (approved, lapsed…) and the archives with their tags.

Events are sorted by time (stable: a commit's check follows its drafting); the assembly
manifest, outside Git, is placed at its file time.

:func:`verify` recomputes every hash of every archive of the tender and checks:

* every archive the branch's history knows (a commit that added
  ``archive/<n>/manifest.json``, or an archive commit, trailer ``Cahier-Archive:``) is
  still there: an archive removed by a commit (``git rm`` + commit, revert) is reported
  with the commit that added it and the one that removed it, even when its tag was
  deleted too;

* each archive folder has its annotated tag ``cahier/<id>/archive-<n>`` (a deleted tag
  is reported), the tag still designates the commit written in its message, that commit
  is in the branch's history and is the one that added the folder (a rebase or a
  ``git filter-repo`` rewrites commits: reported with the commit named);
* the manifest's SHA-256 equals the one in the tag, every file's SHA-256 equals the one
  in the manifest, no file was added or removed;
* the files are unchanged since the archive commit, in HEAD (the commit that altered a
  file is named) and in the working tree;
* the chain: each manifest records the SHA-256 of the previous archive's manifest, and
  its ``source_commit`` is the parent of the archive commit.

Problems are listed in archive order; the first one names the first altered file or
rewritten commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import InputError
from tasks.git import Repo

from .archive import (
    ARCHIVE_DIR,
    MANIFEST,
    TRAILER,
    _join,
    _tree_entry,
    archive_numbers,
    open_repo,
    tag_name,
)

__all__ = [
    "Event",
    "Problem",
    "method_notes",
    "timeline",
    "verify",
    "witness_statements",
    "witnesses_prove",
]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Event:
    """One line of the timeline (French ``summary`` and ``details``)."""

    when: dt.datetime
    kind: str  # rédaction, contrôle, revue, évaluation, archive, assemblage, autre
    commit: str
    author: str
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """A verification failure: ``code``, French ``message``, the file and commit concerned."""

    code: str
    message: str
    file: str | None = None
    commit: str | None = None

    def render(self) -> str:
        where = self.file or ""
        if self.commit:
            where += f" (commit {self.commit[:12]})" if where else f"commit {self.commit[:12]}"
        return f"{where} : {self.message}" if where else self.message


_WHY_GIT = (
    "cahier audit relit l'historique Git du dossier (validations, auteurs, étiquettes) pour "
    "en faire la chronologie et vérifier ses archives"
)


def _open(dossier: str | os.PathLike[str]) -> tuple[Any, Path, str, Any]:
    """``(repo, top, rel, head commit)``; French errors outside a repository or before
    the first commit."""
    from tasks.git import refuse_grafts

    repo, top, rel = open_repo(dossier, why=_WHY_GIT)
    try:
        refuse_grafts(repo.common_dir, "cahier audit")
    except InputError:
        repo.close()
        raise
    try:
        head = repo.head.commit
    except ValueError:
        repo.close()
        raise InputError(
            "le dépôt Git n'a encore aucune validation (commit) : validez le dossier (git add, "
            "git commit) ; cahier audit relit son historique.",
            str(dossier),
        ) from None
    return repo, top, rel, head


def _tender_id(repo: Any, top: Path, rel: str) -> str:
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    path = top / rel / "tender.yaml"
    if path.is_file():
        raw = path.read_bytes()
    else:
        entry = _tree_entry(repo.head.commit, _join(rel, "tender.yaml"))
        if entry is None:
            raise InputError("tender.yaml introuvable.", _join(rel, "tender.yaml"))
        raw = entry.data_stream.read()
    return validate_yaml(Tender, raw, _join(rel, "tender.yaml")).id


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


def timeline(
    dossier: str | os.PathLike[str],
    *,
    run_checks: bool = True,
    clausier_path: str | os.PathLike[str] | None = None,
) -> list[Event]:
    """The dossier's history, oldest first (see module docstring).

    Raises:
        InputError: not a Git repository, dossier without tender.yaml.
    """
    from tasks.check.checker import check_dossier
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier

    repo, top, rel, _ = _open(dossier)
    events: list[Event] = []
    lib = load_clausier(clausier_path) if run_checks else None
    with repo:
        tender_id = _tender_id(repo, top, rel)
        tags = {
            t.commit.hexsha: t.name for t in repo.tags if t.name.startswith(f"cahier/{tender_id}/")
        }
        commits = list(repo.iter_commits("HEAD", paths=rel or "."))
        for c in reversed(commits):
            stats = c.stats.files
            changed = {p: s for p, s in stats.items() if not rel or str(p).startswith(rel + "/")}
            kinds: dict[str, list[str]] = {}
            for p, s in changed.items():
                label = (
                    f"{str(p)[len(rel) + 1 :] if rel else p} (+{s['insertions']} −{s['deletions']})"
                )
                kinds.setdefault(_kind(str(p), rel), []).append(label)
            when = c.committed_datetime
            author = f"{c.author.name} <{c.author.email}>"
            for kind, files in kinds.items():
                details = list(files)
                if kind == "revue":
                    details += _review_details(c, rel)
                if kind == "archive" and c.hexsha in tags:
                    details.append(f"étiquette {tags[c.hexsha]}")
                events.append(Event(when, kind, c.hexsha, author, c.summary, details))
            if run_checks and "rédaction" in kinds and lib is not None:
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
                events.append(Event(when, "contrôle", c.hexsha, author, summary, details))
        try:
            from tasks.review.reviews import review_status

            entries = review_status(dossier, rev="HEAD", clausier_path=clausier_path)
        except (ImportError, InputError):
            entries = []
        if entries and commits:
            head = commits[0]
            labels = {
                "approved": "valide",
                "lapsed": "caduque",
                "pending": "en attente",
                "changes-requested": "modifications demandées",
            }
            counts: dict[str, int] = {}
            for e in entries:
                counts[labels.get(e.status, e.status)] = (
                    counts.get(labels.get(e.status, e.status), 0) + 1
                )
            events.append(
                Event(
                    head.committed_datetime,
                    "revue",
                    head.hexsha,
                    "",
                    "état des revues à HEAD : "
                    + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
                    [e.message() for e in entries][:40],
                )
            )
        assembly = top / "out" / tender_id / "manifest.json"
        if assembly.is_file():
            mtime = dt.datetime.fromtimestamp(assembly.stat().st_mtime, dt.UTC).astimezone()
            events.append(
                Event(
                    mtime,
                    "assemblage",
                    "",
                    "",
                    f"manifeste d'assemblage out/{tender_id}/manifest.json "
                    f"(SHA-256 {_sha(assembly.read_bytes())[:16]}…, hors Git)",
                )
            )
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


# --------------------------------------------------------------------------- verify


def _is_ancestor(repo: Any, a: str, b: str) -> bool:
    import git

    try:
        repo.git.merge_base("--is-ancestor", a, b)
        return True
    except git.GitCommandError:
        return False


def _tag_fields(tag_obj: Any) -> dict[str, str]:
    msg = getattr(tag_obj, "message", "") or ""
    return dict(re.findall(r"^([A-Za-z-]+[0-9]*): (\S+)$", msg, re.M))


def verify(dossier: str | os.PathLike[str]) -> tuple[list[int], list[Problem]]:
    """Verify every archive of the tender; returns ``(archive numbers, problems)``.

    An empty problem list means every hash, tag and link of the chain checks out.

    Raises:
        InputError: not a Git repository, no tender.yaml.
    """
    repo, top, rel, head = _open(dossier)
    problems: list[Problem] = []
    with repo:
        tender_id = _tender_id(repo, top, rel)
        arch_rel = _join(rel, ARCHIVE_DIR)
        prefix = f"cahier/{tender_id}/archive-"
        tags = {
            int(t.name[len(prefix) :]): t
            for t in repo.tags
            if t.name.startswith(prefix) and t.name[len(prefix) :].isdigit()
        }
        in_head = archive_numbers(_tree_entry(head, arch_rel))
        wt_dir = top / arch_rel
        in_wt = (
            sorted(int(p.name) for p in wt_dir.iterdir() if p.is_dir() and p.name.isdigit())
            if wt_dir.is_dir()
            else []
        )
        history = _archive_history(repo, arch_rel, tender_id)
        numbers = sorted(set(tags) | set(in_head) | set(in_wt) | set(history))
        manifests: dict[int, bytes] = {}
        for n in numbers:
            folder = _join(arch_rel, str(n))
            tname = tag_name(tender_id, n)
            tag = tags.get(n)
            base_commit = None
            gone = n in history and n not in in_head and n not in in_wt
            if gone:
                added = repo.commit(history[n])
                problems.append(_deleted(repo, n, folder, added, tname if tag is None else None))
                if tag is None:
                    entry = _tree_entry(added, _join(folder, MANIFEST))
                    if entry is not None and entry.type == "blob":
                        manifests[n] = entry.data_stream.read()  # for the chain of n + 1
                    continue
            if tag is None:
                pending = re.search(
                    rf"^Cahier-Archive: {re.escape(tender_id)}/{n}$", head.message, re.M
                )
                added = history.get(n)
                problems.append(
                    Problem(
                        "etiquette-absente",
                        f"l'étiquette {tname} de l'archive {n} est absente (archive "
                        "interrompue, ou étiquette supprimée) : relancez « cahier archive », qui "
                        "la recrée à l'identique sans créer d'autre archive."
                        if pending
                        else f"l'étiquette {tname} de l'archive {n} est absente (supprimée ?) "
                        "alors que l'archive est présente"
                        + (
                            f" ; elle a été ajoutée par le commit {added[:12]}"
                            if added
                            else " : l'archive ne peut plus être rattachée au commit qui l'a créée"
                        )
                        + ".",
                        folder,
                        added,
                    )
                )
            elif tag.tag is None:
                problems.append(
                    Problem(
                        "etiquette-remplacee",
                        f"l'étiquette {tname} n'est plus une étiquette annotée créée par cahier "
                        "(remplacée ?).",
                        folder,
                        tag.commit.hexsha,
                    )
                )
            else:
                fields = _tag_fields(tag.tag)
                actual = tag.commit.hexsha
                recorded = fields.get("Commit")
                if recorded and recorded != actual:
                    problems.append(
                        Problem(
                            "commit-reecrit",
                            f"l'étiquette {tname} désignait le commit {recorded[:12]} et désigne "
                            f"maintenant {actual[:12]} : historique réécrit (rebase, filter-repo).",
                            folder,
                            recorded,
                        )
                    )
                elif not _is_ancestor(repo, actual, head.hexsha):
                    problems.append(
                        Problem(
                            "commit-reecrit",
                            f"le commit {actual[:12]} de l'archive {n} (étiquette {tname}) n'est "
                            "plus dans l'historique de la branche : historique réécrit.",
                            folder,
                            actual,
                        )
                    )
                base_commit = tag.commit
                # the folder's path at the archive commit (the dossier may have been moved
                # since with « git mv »: a legitimate operation)
                then = _folder_at(base_commit, n) or folder
                tree = _tree_entry(base_commit, then)
                parent_tree = (
                    _tree_entry(base_commit.parents[0], then) if base_commit.parents else None
                )
                if tree is None or tree.type != "tree" or parent_tree is not None:
                    problems.append(
                        Problem(
                            "etiquette-deplacee",
                            f"l'étiquette {tname} ne désigne pas le commit qui a ajouté {folder}.",
                            folder,
                            actual,
                        )
                    )
                    base_commit = None
                else:
                    problems += _check_files(
                        n,
                        folder,
                        {b.name: b.data_stream.read() for b in tree.blobs},
                        fields.get("Manifeste-SHA256"),
                        base_commit,
                        "au commit d'archive",
                    )
                    mbytes = (
                        (tree / MANIFEST).data_stream.read()
                        if MANIFEST in [b.name for b in tree.blobs]
                        else b""
                    )
                    manifests[n] = mbytes
            # HEAD must hold the same files as the archive commit
            head_tree = _tree_entry(head, folder)
            if gone:
                pass  # reported above, with the commits that added and removed it
            elif head_tree is None or head_tree.type != "tree":
                problems.append(
                    Problem(
                        "archive-supprimee",
                        f"l'archive {n} est absente de la branche (HEAD).",
                        folder,
                        head.hexsha,
                    )
                )
            elif base_commit is not None:
                ref_tree = _tree_entry(base_commit, _folder_at(base_commit, n) or folder)
                ref = {b.name: b.hexsha for b in ref_tree.blobs}
                now = {b.name: b.hexsha for b in head_tree.blobs}
                for name in sorted(set(ref) | set(now)):
                    if ref.get(name) == now.get(name):
                        continue
                    path = _join(folder, name)
                    culprit = next(iter(repo.iter_commits("HEAD", paths=path, max_count=1)), None)
                    who = (
                        f" par le commit {culprit.hexsha[:12]} ({culprit.author.name}, "
                        f"{culprit.committed_datetime:%d/%m/%Y %H:%M})"
                        if culprit is not None
                        else ""
                    )
                    what = (
                        "supprimé"
                        if name not in now
                        else "ajouté"
                        if name not in ref
                        else "modifié"
                    )
                    problems.append(
                        Problem(
                            "fichier-modifie",
                            f"fichier {what} après archivage{who} : une archive n'est jamais "
                            "modifiée, une correction est une nouvelle archive.",
                            path,
                            culprit.hexsha if culprit is not None else None,
                        )
                    )
            elif n not in manifests and head_tree is not None:
                manifests[n] = next(
                    (b.data_stream.read() for b in head_tree.blobs if b.name == MANIFEST), b""
                )
            # working tree
            wt = top / folder
            if wt.is_dir() and head_tree is not None and head_tree.type == "tree":
                committed = {b.name: b.data_stream.read() for b in head_tree.blobs}
                on_disk = {p.name: p for p in wt.iterdir() if p.is_file()}
                for name in sorted(set(committed) | set(on_disk)):
                    path = _join(folder, name)
                    if name not in on_disk:
                        problems.append(
                            Problem(
                                "fichier-modifie", "fichier supprimé de la copie de travail.", path
                            )
                        )
                    elif name not in committed:
                        problems.append(
                            Problem(
                                "fichier-modifie", "fichier ajouté dans le dossier d'archive.", path
                            )
                        )
                    elif _sha(on_disk[name].read_bytes()) != _sha(committed[name]):
                        problems.append(
                            Problem(
                                "fichier-modifie",
                                "fichier modifié dans la copie de travail (non validé) : "
                                "son SHA-256 ne correspond plus à l'archive.",
                                path,
                            )
                        )
            elif n in in_head and not wt.is_dir():
                problems.append(
                    Problem(
                        "fichier-modifie",
                        "dossier d'archive absent de la copie de travail (lancez « cahier "
                        "archive » pour reprendre une archive interrompue, ou restaurez-le).",
                        folder,
                    )
                )
        # chain
        for n in numbers:
            raw = manifests.get(n)
            if not raw:
                continue
            try:
                man = json.loads(raw)
            except ValueError:
                continue  # reported by _check_files
            folder = _join(arch_rel, str(n), MANIFEST)
            prev = man.get("previous")
            if n == 1 or n - 1 not in numbers:
                if n > 1:
                    problems.append(
                        Problem(
                            "chaine-rompue",
                            f"l'archive {n - 1} qui précède est introuvable.",
                            folder,
                        )
                    )
                elif prev is not None:
                    problems.append(
                        Problem(
                            "chaine-rompue",
                            "la première archive ne doit pointer vers aucune autre.",
                            folder,
                        )
                    )
            else:
                expected = _sha(manifests.get(n - 1, b""))
                got = (prev or {}).get("manifest_sha256")
                if got != expected:
                    problems.append(
                        Problem(
                            "chaine-rompue",
                            f"le manifeste enregistre pour l'archive {n - 1} le SHA-256 "
                            f"{str(got)[:16]}…, or son manifeste vaut {expected[:16]}… : "
                            "une archive antérieure a été altérée ou remplacée.",
                            folder,
                        )
                    )
            tag = tags.get(n)
            if tag is not None and tag.commit.parents:
                parent = tag.commit.parents[0].hexsha
                if man.get("source_commit") not in (None, parent):
                    problems.append(
                        Problem(
                            "commit-reecrit",
                            f"l'archive {n} a été faite sur le commit {man['source_commit'][:12]}, "
                            f"or son commit d'archive a pour parent {parent[:12]} : historique "
                            "réécrit sous l'archive.",
                            folder,
                            man["source_commit"],
                        )
                    )
        git = Repo.discover(top)
        problems += _trust_checks(git, rel, arch_rel, tender_id, head.hexsha, tags)
        _statements, found = _witness_check(git, dossier, tender_id, arch_rel, head, tags)
        problems += [Problem(code, msg) for code, msg in found]
    # the first problem of the lowest archive comes first
    return numbers, problems


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


def _recompute(
    repo: Repo, arch_rel: str, tender_id: str, head: str, tags: dict[int, Any]
) -> list[Problem]:
    """Recompute each archive's evaluation from ``evaluation.yaml`` and ``tender.yaml`` at
    its source commit and compare ranks, totals and winners with ``evaluation.json``."""
    from tasks.dossier.model import Tender
    from tasks.dossier.yamlio import validate_yaml

    from .evaluation import EVALUATION_FILE, METHOD_VERSION, evaluate, parse_evaluation

    out: list[Problem] = []
    for _m, typ, _b, name in repo.tree(head, arch_rel):
        if typ != "tree" or not name.isdigit():
            continue
        folder = _join(arch_rel, name)
        try:
            man = json.loads(repo.blob(head, _join(folder, MANIFEST)) or b"{}")
            archived = json.loads(repo.blob(head, _join(folder, "evaluation.json")) or b"{}")
        except ValueError:
            continue  # reported by the file checks
        source = man.get("source_commit")
        method = man.get("methode_evaluation")
        if not source or method is None:
            continue  # archive made before the method was recorded: nothing to compare
        if str(method) != METHOD_VERSION:
            # another method: not comparable, and not tampering (see method_notes)
            continue
        dossier_then = str(man.get("dossier") or "")
        tender_raw = repo.blob(source, _join(dossier_then, "tender.yaml"))
        ev_raw = repo.blob(source, _join(dossier_then, EVALUATION_FILE))
        if tender_raw is None or ev_raw is None:
            out.append(
                Problem(
                    "evaluation-introuvable",
                    f"archive n° {name} : evaluation.yaml ou tender.yaml introuvable au commit "
                    f"source {source[:12]} : l'évaluation archivée ne peut pas être recalculée.",
                    folder,
                    source,
                )
            )
            continue
        try:
            tender = validate_yaml(Tender, tender_raw, "tender.yaml")
            result = evaluate(parse_evaluation(ev_raw, EVALUATION_FILE, tender), tender)
        except InputError as exc:
            out.append(
                Problem(
                    "evaluation-non-recalculable",
                    f"archive n° {name} : l'évaluation du commit source {source[:12]} ne se "
                    f"recalcule pas ({exc.message}).",
                    folder,
                    source,
                )
            )
            continue
        again = _ranking(result.model_dump(mode="json"))
        if again != _ranking(archived):
            diff = next(
                (a for a, b in zip(again, _ranking(archived), strict=False) if a != b), None
            )
            out.append(
                Problem(
                    "evaluation-differente",
                    f"archive n° {name} : le classement recalculé depuis evaluation.yaml du "
                    f"commit {source[:12]} diffère de evaluation.json archivé (premier écart : "
                    f"{diff}) ; le résultat archivé ne découle pas de ses données.",
                    _join(folder, "evaluation.json"),
                    source,
                )
            )
    return out


def _witness_check(
    git: Repo, dossier: Any, tender_id: str, arch_rel: str, head: Any, tags: dict[int, Any]
) -> tuple[list[str], list[tuple[str, str]]]:
    from tasks.config.settings import load_settings

    from .witness import check_witnesses

    settings = load_settings(Path(dossier))
    archives: dict[int, tuple[str, str | None]] = {}
    for _m, typ, _b, name in git.tree(head.hexsha, arch_rel):
        if typ == "tree" and name.isdigit():
            raw = git.blob(head.hexsha, _join(arch_rel, name, MANIFEST)) or b""
            tag = tags.get(int(name))
            archives[int(name)] = (
                _sha(raw),
                tag.tag.hexsha if tag is not None and tag.tag else None,
            )
    return check_witnesses(git, settings.witnesses, tender_id, archives, prefect=settings.prefect)


def witnesses_prove(dossier: str | os.PathLike[str]) -> bool:
    """Whether a witness of the verifier's own configuration (outside the repository) is
    configured: only then can ``audit --verify`` say « conformes aux témoins »; witnesses
    declared by the repository's or organisation's files (the buyer's) prove nothing,
    nor does the buyer's own Prefect server (:func:`.witness_prefect.refusal`)."""
    from tasks.config.settings import load_settings

    settings = load_settings(Path(dossier))
    for w in settings.witnesses:
        if not w.verificateur:
            continue
        if w.kind != "prefect":
            return True
        from .witness_prefect import refusal

        try:
            if refusal(w.target, settings.prefect) is None:
                return True
        except Exception:  # unreachable: reported as a problem by verify
            continue
    return False


def method_notes(dossier: str | os.PathLike[str]) -> list[str]:
    """French notes for archives made with another evaluation method than today's
    (``methode_evaluation`` of the manifest): their results are not recomputed, and this
    is a change of method, not an alteration."""
    from .evaluation import METHOD_VERSION

    repo, top, rel, head = _open(dossier)
    repo.close()
    git = Repo.discover(top)
    arch_rel = _join(rel, ARCHIVE_DIR)
    out = []
    for _m, typ, _b, name in git.tree(head.hexsha, arch_rel):
        if typ != "tree" or not name.isdigit():
            continue
        try:
            man = json.loads(git.blob(head.hexsha, _join(arch_rel, name, MANIFEST)) or b"{}")
        except ValueError:
            continue
        method = man.get("methode_evaluation")
        if method is None:
            out.append(
                f"archive n° {name} : faite avant l'enregistrement de la méthode d'évaluation ; "
                "son classement n'est pas recalculé."
            )
        elif str(method) != METHOD_VERSION:
            out.append(
                f"archive n° {name} : méthode d'évaluation v{method}, aujourd'hui "
                f"v{METHOD_VERSION} ; le classement n'est pas recalculé (changement de "
                "méthode, pas une altération)."
            )
    return out


def witness_statements(dossier: str | os.PathLike[str]) -> list[str]:
    """What each configured witness proves (French), for ``cahier audit --verify``; with
    no witness, the one statement that nothing outside the repository was checked."""
    repo, top, rel, head = _open(dossier)
    with repo:
        tender_id = _tender_id(repo, top, rel)
        prefix = f"cahier/{tender_id}/archive-"
        tags = {
            int(t.name[len(prefix) :]): t
            for t in repo.tags
            if t.name.startswith(prefix) and t.name[len(prefix) :].isdigit()
        }
        statements, _ = _witness_check(
            Repo.discover(top), dossier, tender_id, _join(rel, ARCHIVE_DIR), head, tags
        )
    return statements


def _folder_at(commit: Any, n: int) -> str | None:
    """Path of the ``…/archive/<n>`` folder that ``commit`` added (None if none)."""
    parent = commit.parents[0] if commit.parents else None
    for d in commit.diff(parent, R=True) if parent is not None else []:
        path = d.b_path or ""
        m = re.fullmatch(rf"(.*{ARCHIVE_DIR}/{n})/{re.escape(MANIFEST)}", path)
        if m and d.change_type == "A":
            return m.group(1)
    return None


def _trust_checks(
    repo: Repo, rel: str, arch_rel: str, tender_id: str, head: str, tags: dict[int, Any]
) -> list[Problem]:
    """Checks that the archive files alone cannot make (docs/evaluation-archive.md,
    « Ce qui est prouvé »): an archive number created twice in history, tags without
    their fields, review records changed since an archive was made, the user's index
    staging the deletion of a record or an archive file."""
    out: list[Problem] = []
    # 1. one archive number, one creation (a deleted then re-created archive n)
    created: dict[int, list[str]] = {}
    trailer = re.compile(rf"^{TRAILER}: {re.escape(tender_id)}/([1-9][0-9]*)$", re.M)
    log = repo.text(
        "log", "HEAD", "--fixed-strings", f"--grep={TRAILER}: {tender_id}/", "--format=%H%x00%B%x1e"
    )
    for record in log.split("\x1e"):
        sha, _, body = record.strip().partition("\x00")
        for m in trailer.finditer(body):
            created.setdefault(int(m.group(1)), []).append(sha)
    for n, shas in sorted(created.items()):
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
    # 2. tags carry the fields cahier writes
    for n, tag in sorted(tags.items()):
        if tag.tag is None:
            continue
        fields = _tag_fields(tag.tag)
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
    # 3. review records changed since each archive
    reviews_dir = _join(rel, "reviews")
    now = {name: blob for _m, typ, blob, name in repo.tree(head, reviews_dir) if typ == "blob"}
    for _m, typ, _b, name in repo.tree(head, arch_rel):
        if typ != "tree" or not name.isdigit():
            continue
        raw = repo.blob(head, _join(arch_rel, name, "reviews.json"))
        try:
            listed = json.loads(raw or b"{}").get("records", [])
        except ValueError:
            continue
        for entry in listed:
            base = str(entry.get("file", "")).rsplit("/", 1)[-1]
            blob = now.get(base)
            data = repo.blobs([blob])[0] if blob else None
            if data is None or _sha(data) != entry.get("sha256"):
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
    # 4. replacement objects (« git replace »): ignored by cahier (GIT_NO_REPLACE_OBJECTS),
    # but they show other people another commit or file under the same id
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
    # 5. each archived evaluation recomputed from evaluation.yaml at its source commit
    out += _recompute(repo, arch_rel, tender_id, head, tags)
    # 6. the user's index must not stage the deletion of a record or an archive file
    for prefix in (reviews_dir, arch_rel):
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


def _archive_history(repo: Any, arch_rel: str, tender_id: str) -> dict[int, str]:
    """Archives the history of HEAD has known: number → commit that added it (latest).

    Two sources: commits that added ``<archive dir>/<n>/manifest.json`` (``git log
    --diff-filter=A``), and archive commits (message trailer ``Cahier-Archive: <id>/<n>``),
    which survive a move of the dossier.
    """
    out: dict[int, str] = {}
    pattern = re.compile(rf"^{re.escape(arch_rel)}/([1-9][0-9]*)/{re.escape(MANIFEST)}$")
    log = repo.git.log(
        "--no-renames",
        "--diff-filter=A",
        "--format=commit %H",
        "--name-only",
        "HEAD",
        "--",
        f"{arch_rel}/*/{MANIFEST}",
    )
    sha = None
    for line in log.splitlines():
        if line.startswith("commit "):
            sha = line[len("commit ") :].strip()
        elif (m := pattern.match(line.strip())) and sha:
            out.setdefault(int(m.group(1)), sha)  # newest first: the latest addition
    log = repo.git.log(
        "HEAD", "--fixed-strings", f"--grep={TRAILER}: {tender_id}/", "--format=%H%x00%B%x1e"
    )
    trailer = re.compile(rf"^{TRAILER}: {re.escape(tender_id)}/([1-9][0-9]*)$", re.M)
    for record in log.split("\x1e"):
        sha, _, body = record.strip().partition("\x00")
        for m in trailer.finditer(body):
            out.setdefault(int(m.group(1)), sha)
    return out


def _deleted(repo: Any, n: int, folder: str, added: Any, lost_tag: str | None) -> Problem:
    """The problem « archive n existed and is gone », naming the commits concerned."""
    mpath = _join(folder, MANIFEST)
    sha = repo.git.log(
        "-1", "--no-renames", "--diff-filter=D", "--format=%H", "HEAD", "--", mpath
    ).strip()
    removed = repo.commit(sha) if sha else None

    def who(c: Any) -> str:
        return f"{c.author.name}, {c.committed_datetime.astimezone():%d/%m/%Y %H:%M}"

    message = (
        f"l'archive {n} a existé — ajoutée par le commit {added.hexsha[:12]} ({who(added)}) — "
        "et a disparu de la branche"
        + (f" : supprimée par le commit {removed.hexsha[:12]} ({who(removed)})" if removed else "")
        + (f" ; son étiquette {lost_tag} a aussi été supprimée" if lost_tag else "")
        + ". Une archive n'est jamais supprimée (une correction est une nouvelle archive) : "
        f"restaurez-la (git checkout {added.hexsha[:12]} -- {folder}, puis git commit)."
    )
    return Problem("archive-supprimee", message, mpath, removed.hexsha if removed else added.hexsha)


def _check_files(
    n: int,
    folder: str,
    files: dict[str, bytes],
    tag_manifest_sha: str | None,
    commit: Any,
    where: str,
) -> list[Problem]:
    out: list[Problem] = []
    mpath = _join(folder, MANIFEST)
    raw = files.get(MANIFEST)
    if raw is None:
        return [Problem("manifeste-absent", f"manifeste absent {where}.", mpath, commit.hexsha)]
    if tag_manifest_sha and _sha(raw) != tag_manifest_sha:
        out.append(
            Problem(
                "fichier-modifie",
                f"le SHA-256 du manifeste ({_sha(raw)[:16]}…) diffère de celui enregistré dans "
                f"l'étiquette ({tag_manifest_sha[:16]}…).",
                mpath,
                commit.hexsha,
            )
        )
    try:
        man = json.loads(raw)
        listed = man["files"]
    except (ValueError, KeyError, TypeError):
        return [*out, Problem("fichier-modifie", "manifeste illisible.", mpath, commit.hexsha)]
    for name, meta in listed.items():
        path = _join(folder, name)
        if name == MANIFEST:
            continue
        if name not in files:
            out.append(Problem("fichier-modifie", f"fichier absent {where}.", path, commit.hexsha))
        elif _sha(files[name]) != meta.get("sha256"):
            out.append(
                Problem(
                    "fichier-modifie",
                    f"SHA-256 {where} différent de celui du manifeste : fichier altéré.",
                    path,
                    commit.hexsha,
                )
            )
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        out.append(
            Problem(
                "fichier-modifie",
                f"fichier non listé dans le manifeste {where}.",
                _join(folder, name),
                commit.hexsha,
            )
        )
    return out
