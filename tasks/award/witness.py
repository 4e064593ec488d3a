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
* ``prefect`` — not written by this version (reported as such by the audit).

:func:`check_witnesses` compares the repository with every witness and says, in
French, which ones it reached and what each proves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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


def write_witnesses(repo: Repo, witnesses: list, anchor: Anchor) -> list[str]:
    """Write ``anchor`` to every witness; French lines saying what was done.

    A witness that cannot be written is reported in the returned lines (the archive
    itself stays valid; ``cahier audit --verify`` will say the witness lacks it).
    """
    done: list[str] = []
    for w in witnesses:
        if w.kind == "fichier":
            try:
                fd = os.open(w.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, anchor.line().encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                done.append(
                    f"témoin fichier {w.target} : ancre de l'archive n° {anchor.numero} ajoutée"
                )
            except OSError as exc:
                done.append(f"témoin fichier {w.target} non écrit ({exc.strerror}) : à refaire")
        elif w.kind == "git":
            try:
                repo.run("push", "--quiet", w.target, f"refs/tags/{anchor.tag}", write=True)
                done.append(f"témoin Git {w.target} : étiquette {anchor.tag} poussée")
            except GitError as exc:
                done.append(f"témoin Git {w.target} non écrit ({exc.detail}) : à refaire")
        else:
            done.append(f"témoin {w.kind} {w.target} : non pris en charge par cette version")
    return done


def check_witnesses(
    repo: Repo, witnesses: list, tender: str, archives: dict[int, tuple[str, str | None]]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Compare the repository's archives (number → (manifest SHA-256, tag object id))
    with every witness.

    Returns ``(statements, problems)``: French statements of what each reached witness
    proves, and ``(code, message)`` problems (an archive replaced, missing from the
    repository, or absent from a witness).
    """
    statements: list[str] = []
    problems: list[tuple[str, str]] = []
    for w in witnesses:
        if w.kind == "fichier":
            try:
                lines = Path(w.target).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                problems.append(
                    ("temoin-injoignable", f"témoin fichier {w.target} illisible ({exc.strerror}).")
                )
                continue
            seen: dict[int, str] = {}
            anchors: dict[int, list[str]] = {}
            for ln in lines:
                try:
                    a = json.loads(ln)
                except ValueError:
                    continue
                if a.get("tender") == tender and isinstance(a.get("numero"), int):
                    seen[a["numero"]] = str(a.get("manifest_sha256"))
                    got = anchors.setdefault(a["numero"], [])
                    if seen[a["numero"]] not in got:
                        got.append(seen[a["numero"]])
            # An archive number anchored twice with different manifests: the first
            # archive n was replaced after its anchor was written (append-only file).
            for n, values in sorted(anchors.items()):
                if len(values) > 1:
                    problems.append(
                        (
                            "archive-remplacee",
                            f"témoin fichier {w.target} : {len(values)} ancres différentes pour "
                            f"l'archive n° {n} ("
                            + ", ".join(v[:16] + "…" for v in values)
                            + ") : l'archive a été refaite après son ancrage (historique "
                            "réécrit) ; la première ancre est celle de l'archive d'origine.",
                        )
                    )
            problems += _compare(
                f"témoin fichier {w.target}", seen, {n: m for n, (m, _t) in archives.items()}
            )
            statements.append(
                f"témoin fichier {w.target} atteint : {len(seen)} ancre(s) ; "
                + (
                    "il prouve que les manifestes n'ont pas été remplacés depuis leur écriture"
                    if getattr(w, "verificateur", False)
                    else "déclaré par un fichier du dépôt ou de l'organisation (sous le contrôle "
                    "de l'acheteur), il ne prouve rien contre une réécriture complète"
                )
                + _unknown(archives, seen)
            )
        elif w.kind == "git":
            try:
                out = repo.text(
                    "ls-remote", "--tags", w.target, f"refs/tags/cahier/{tender}/archive-*"
                )
            except GitError as exc:
                problems.append(
                    ("temoin-injoignable", f"témoin Git {w.target} injoignable ({exc.detail}).")
                )
                continue
            seen_tags: dict[int, str] = {}
            prefix = f"refs/tags/cahier/{tender}/archive-"
            for ln in out.splitlines():
                sha, _, ref = ln.partition("\t")
                if ref.startswith(prefix) and ref[len(prefix) :].isdigit():
                    seen_tags[int(ref[len(prefix) :])] = sha
            problems += _compare(
                f"témoin Git {w.target}", seen_tags, {n: t or "" for n, (_m, t) in archives.items()}
            )
            statements.append(
                f"témoin Git {w.target} atteint : {len(seen_tags)} étiquette(s) ; "
                + (
                    "il prouve que les étiquettes (commit et SHA-256 du manifeste) n'ont pas été "
                    "remplacées"
                    if getattr(w, "verificateur", False)
                    else "déclaré par un fichier du dépôt ou de l'organisation (sous le contrôle "
                    "de l'acheteur), il ne prouve rien contre une réécriture complète"
                )
                + _unknown(archives, seen_tags)
            )
        else:
            statements.append(f"témoin {w.kind} {w.target} : non vérifié par cette version")
    return statements, problems


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
