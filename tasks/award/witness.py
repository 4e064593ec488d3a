"""Archive witnesses: copies of each archive's anchor kept by someone other than the buyer.

A witness proves something only when the buyer does not control it (docs/
evaluation-archive.md, « Ce qui est prouvé »). Witnesses are configured by the verifier
(:mod:`tasks.config.settings`, section ``witnesses``; a repository file may add some,
never remove one). Each archive writes one **anchor** — tender id, archive number,
SHA-256 of its manifest, archive commit, tag object, chain head (the manifest SHA-256
of the previous archive) — to every configured witness:

* ``fichier`` — one line appended (``O_APPEND``) to a file the auditor keeps (for
  instance on a share where the buyer may only append);
* ``git`` — the archive's tag pushed to a remote the auditor controls (``git push
  <target> refs/tags/…``): the remote keeps the tag object, which names the commit and
  the manifest's SHA-256;
* ``prefect`` — one table artifact per archive on a team Prefect server run by IT
  (:mod:`tasks.award.witness_prefect`); the buyer's own server (embedded, or sharing
  their ``PREFECT_HOME``) is refused: it proves nothing.

:func:`check_witnesses` compares the repository with every witness and says, in
French, which ones it reached and what each proves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.errors import os_reason
from tasks.git import GitError, Repo

__all__ = ["Anchor", "check_witnesses", "write_witnesses"]


@dataclass(frozen=True)
class Anchor:
    """What a witness keeps for one archive."""

    tender: str
    numero: int
    manifest_sha256: str
    commit: str
    tag: str
    tag_object: str
    previous_sha256: str | None

    def line(self) -> str:
        """One JSON line (``allow_nan=False``: only text and integers here)."""
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True) + "\n"


def write_witnesses(
    repo: Repo, witnesses: list, anchor: Anchor, *, prefect: Any = None
) -> list[str]:
    """Write ``anchor`` to every witness; French lines saying what was done.

    ``prefect``: the buyer's :class:`~tasks.config.settings.PrefectSettings`, to refuse
    their own Prefect server as a witness (:func:`tasks.award.witness_prefect.refusal`).
    A witness that cannot be written is reported in the returned lines (the archive
    itself stays valid; ``cahier audit --verify`` will say the witness lacks it).
    """
    writers = {"fichier": _write_file, "git": _write_git, "prefect": _write_prefect}
    return [writers[w.kind](repo, w, anchor, prefect) for w in witnesses]


def _write_file(_repo: Repo, w: Any, anchor: Anchor, _prefect: Any) -> str:
    try:
        fd = os.open(w.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, anchor.line().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"témoin fichier {w.target} non écrit ({os_reason(exc)}) : à refaire"
    return f"témoin fichier {w.target} : ancre de l'archive n° {anchor.numero} ajoutée"


def _write_git(repo: Repo, w: Any, anchor: Anchor, _prefect: Any) -> str:
    try:
        repo.run("push", "--quiet", w.target, f"refs/tags/{anchor.tag}", write=True)
    except GitError as exc:
        return f"témoin Git {w.target} non écrit ({exc.detail}) : à refaire"
    return f"témoin Git {w.target} : étiquette {anchor.tag} poussée"


def _write_prefect(_repo: Repo, w: Any, anchor: Anchor, prefect: Any) -> str:
    from . import witness_prefect as wp

    try:
        refused = wp.refusal(w.target, prefect)
        if refused:
            return f"témoin Prefect {w.target} refusé : {refused} ; ancre non écrite"
        artifact = wp.write_anchor(w.target, anchor)
    except Exception as exc:  # httpx / Prefect client errors: the archive stays valid
        return f"témoin Prefect {w.target} non écrit ({type(exc).__name__}) : à refaire"
    return (
        f"témoin Prefect {w.target} : artefact {wp.artifact_key(anchor.tender, anchor.numero)} "
        f"écrit (id {artifact})"
    )


def check_witnesses(
    repo: Repo,
    witnesses: list,
    tender: str,
    archives: dict[int, tuple[str, str | None]],
    *,
    prefect: Any = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Compare the repository's archives (number → (manifest SHA-256, tag object id))
    with every witness.

    Returns ``(statements, problems)``: French statements of what each reached witness
    proves, and ``(code, message)`` problems (an archive replaced, missing from the
    repository, absent from a witness, a witness unreachable). A witness refused (the
    buyer's own Prefect server) gets a statement saying it proves nothing.
    """
    readers = {"fichier": _read_file, "git": _read_git, "prefect": _read_prefect}
    statements: list[str] = []
    problems: list[tuple[str, str]] = []
    for w in witnesses:
        who, found, proves = readers[w.kind](repo, w, tender, prefect)
        if isinstance(found, tuple):  # (code, message): unreachable or refused
            if found[0] == "temoin-refuse":
                statements.append(found[1])  # proves nothing, alters nothing
            else:
                problems.append(found)
            continue
        local = {n: (t or "" if w.kind == "git" else m) for n, (m, t) in archives.items()}
        problems += _replaced(who, found)
        problems += _compare(who, {n: values[-1] for n, values in found.items()}, local)
        statements.append(
            f"{who} atteint : {len(found)} ancre(s) ; "
            + (
                proves
                if getattr(w, "verificateur", False)
                else "déclaré par un fichier du dépôt ou de l'organisation (sous le contrôle "
                "de l'acheteur), il ne prouve rien contre une réécriture complète"
            )
            + _unknown(archives, found)
        )
    return statements, problems


_Found = tuple[str, "dict[int, list[str]] | tuple[str, str]", str]


def _read_file(_repo: Repo, w: Any, tender: str, _prefect: Any) -> _Found:
    who = f"témoin fichier {w.target}"
    try:
        lines = Path(w.target).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return who, ("temoin-injoignable", f"{who} illisible ({os_reason(exc)})."), ""
    anchors: dict[int, list[str]] = {}
    for ln in lines:
        try:
            a = json.loads(ln)
        except ValueError:
            continue
        if isinstance(a, dict) and a.get("tender") == tender and isinstance(a.get("numero"), int):
            values = anchors.setdefault(a["numero"], [])
            if str(a.get("manifest_sha256")) not in values:
                values.append(str(a.get("manifest_sha256")))
    proves = "il prouve que les manifestes n'ont pas été remplacés depuis leur écriture"
    return who, anchors, proves


def _read_git(repo: Repo, w: Any, tender: str, _prefect: Any) -> _Found:
    who = f"témoin Git {w.target}"
    try:
        out = repo.text("ls-remote", "--tags", w.target, f"refs/tags/cahier/{tender}/archive-*")
    except GitError as exc:
        return who, ("temoin-injoignable", f"{who} injoignable ({exc.detail})."), ""
    tags: dict[int, list[str]] = {}
    prefix = f"refs/tags/cahier/{tender}/archive-"
    for ln in out.splitlines():
        sha, _, ref = ln.partition("\t")
        if ref.startswith(prefix) and ref[len(prefix) :].isdigit():
            tags[int(ref[len(prefix) :])] = [sha]
    proves = (
        "il prouve que les étiquettes (commit et SHA-256 du manifeste) n'ont pas été remplacées"
    )
    return who, tags, proves


def _read_prefect(_repo: Repo, w: Any, tender: str, prefect: Any) -> _Found:
    from . import witness_prefect as wp

    who = f"témoin Prefect {w.target}"
    try:
        refused = wp.refusal(w.target, prefect)
        if refused:
            return who, ("temoin-refuse", f"{who} refusé comme témoin : {refused}."), ""
        anchors = wp.read_anchors(w.target, tender)
    except Exception as exc:  # httpx / Prefect client errors
        return who, ("temoin-injoignable", f"{who} injoignable ({type(exc).__name__})."), ""
    proves = (
        "serveur Prefect de l'équipe (hors PREFECT_HOME de l'acheteur), un artefact par "
        f"archive ({wp.artifact_key(tender)}<n>) : il prouve que les manifestes n'ont pas été "
        "remplacés depuis leur écriture, tant que seuls ses administrateurs peuvent y "
        "supprimer un artefact"
    )
    return who, anchors, proves


def _replaced(who: str, anchors: dict[int, list[str]]) -> list[tuple[str, str]]:
    """An archive number anchored twice with different manifests: the first archive n
    was replaced after its anchor was written (append-only file, artifact versions)."""
    return [
        (
            "archive-remplacee",
            f"{who} : {len(values)} ancres différentes pour l'archive n° {n} ("
            + ", ".join(v[:16] + "…" for v in values)
            + ") : l'archive a été refaite après son ancrage (historique réécrit) ; la "
            "première ancre est celle de l'archive d'origine.",
        )
        for n, values in sorted(anchors.items())
        if len(values) > 1
    ]


def _unknown(archives: dict, seen: dict) -> str:
    missing = sorted(set(archives) - set(seen))
    if not missing:
        return ""
    return (
        " ; archive(s) n° " + ", ".join(map(str, missing)) + " inconnue(s) de ce témoin (faites "
        "avant sa configuration, ou sans lui) : non prouvée(s) par lui"
    )


def _compare(who: str, seen: dict[int, str], local: dict[int, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if seen:
        # archives made after the witness was in use, yet absent from it: truncated or bypassed
        first = min(seen)
        for n in sorted(set(local) - set(seen)):
            if n > first:
                out.append(
                    (
                        "temoin-incomplet",
                        f"{who} n'a pas l'archive n° {n}, faite après l'archive n° {first} "
                        "qu'il connaît : témoin tronqué, ou archive faite sans lui.",
                    )
                )
    for n, value in sorted(seen.items()):
        if n not in local:
            out.append(
                (
                    "archive-absente",
                    f"{who} connaît l'archive n° {n}, absente du dépôt (supprimée ?).",
                )
            )
        elif local[n] != value:
            out.append(
                (
                    "archive-remplacee",
                    f"{who} a enregistré pour l'archive n° {n} l'empreinte {value[:16]}…, or le "
                    f"dépôt a {local[n][:16]}… : archive remplacée (historique réécrit).",
                )
            )
    return out
