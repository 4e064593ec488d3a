"""``cahier clauses diff``: what changed between two versions of the clausier.

A side is either a folder (a clausier root holding ``clausier.yaml`` and ``clauses/``,
or a ``clauses/`` folder itself) or a Git revision of the repository that holds the
clausier (read from Git blobs with GitPython, no checkout: the working tree is not
touched).

Versioning rules (docs/clausier.md):

* a change of a clause's *meaning* — its ``text``, ``parameters``, ``applies``,
  ``level`` or ``piece`` — requires a version bump (error ``version-non-incrementee``);
* a version never goes down (error ``version-en-baisse``);
* a bump comes with a ``changelog`` line starting with the new version number
  (error ``changelog-manquant``);
* other fields (title, legal basis, evidence patterns, bidder guidance, DECP mapping,
  review role) may change without a bump: reported as changes;
* when clauses changed, the library ``version`` of clausier.yaml should change too
  (warning ``version-clausier-inchangee``).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tasks.dossier.model import Clause
from tasks.dossier.yamlio import load_yaml, validate_yaml
from tasks.errors import InputError

__all__ = [
    "MEANING_FIELDS",
    "ClauseChange",
    "ClausierDiff",
    "ClausierSide",
    "DiffIssue",
    "diff_clausiers",
    "load_folder",
    "load_revision",
    "load_side",
    "to_text",
]

#: Fields whose change alters what a clause requires: a version bump is mandatory.
MEANING_FIELDS = ("text", "parameters", "applies", "level", "piece")


@dataclass
class ClausierSide:
    """One version of the clausier: where it comes from, its version, its clauses."""

    label: str
    version: str | None
    clauses: dict[str, Clause]
    changelog: list[dict[str, Any]] = field(default_factory=list)  # clausier.yaml entries


@dataclass
class FieldChange:
    """One changed field of a clause; ``diff`` is a unified text diff (``text`` field)."""

    name: str
    old: Any
    new: Any
    diff: str | None = None


@dataclass
class ClauseChange:
    """A clause present on both sides whose content differs."""

    id: str
    old_version: int
    new_version: int
    fields: list[FieldChange]

    @property
    def meaning_changed(self) -> bool:
        return any(f.name in MEANING_FIELDS for f in self.fields)


@dataclass
class DiffIssue:
    """A versioning rule broken by the change (``severity`` error or warning)."""

    rule: str
    severity: str
    clause: str | None
    message: str


@dataclass
class ClausierDiff:
    """The comparison of two sides."""

    old: ClausierSide
    new: ClausierSide
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[ClauseChange] = field(default_factory=list)
    issues: list[DiffIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[DiffIssue]:
        return [i for i in self.issues if i.severity == "error"]


# --------------------------------------------------------------------------- loading


def _parse_clause(raw: bytes, name: str) -> Clause:
    clause = validate_yaml(Clause, raw, name)
    if PurePosixPath(name).stem != clause.id:
        raise InputError(
            f"le fichier doit s'appeler {clause.id}.yaml (identifiant de la clause).", name, 1
        )
    return clause


def _meta(raw: bytes | None, name: str) -> tuple[str | None, list[dict[str, Any]]]:
    """``(version, changelog entries)`` of a clausier.yaml (entries: version, date, clauses)."""
    if raw is None:
        return None, []
    data, _ = load_yaml(raw, name)
    if not isinstance(data, dict):
        return None, []
    version = str(data["version"]) if data.get("version") is not None else None
    log = data.get("changelog") or []
    return version, [e for e in log if isinstance(e, dict)] if isinstance(log, list) else []


def load_folder(path: str | os.PathLike[str]) -> ClausierSide:
    """A clausier folder (root with ``clauses/``, or the ``clauses/`` folder itself).

    Raises:
        InputError: no clause file, an invalid clause file (file, line, field).
    """
    root = Path(path)
    folder = root / "clauses" if (root / "clauses").is_dir() else root
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise InputError("aucune clause (fichiers clauses/*.yaml) dans ce dossier.", str(root))
    clauses = {}
    for f in files:
        c = _parse_clause(f.read_bytes(), str(f))
        clauses[c.id] = c
    meta = root / "clausier.yaml"
    if not meta.is_file():
        meta = folder.parent / "clausier.yaml"
    version, log = _meta(meta.read_bytes(), str(meta)) if meta.is_file() else (None, [])
    return ClausierSide(label=str(root), version=version, clauses=clauses, changelog=log)


def load_revision(
    rev: str, repo: str | os.PathLike[str] | None = None, subdir: str | None = None
) -> ClausierSide:
    """The clausier at Git revision ``rev`` (blobs read through :mod:`tasks.git`, no checkout).

    Args:
        rev: commit sha, tag, branch, ``HEAD~1``…
        repo: a path inside the repository (default: the one holding cahier's clausier).
        subdir: the clausier folder inside the repository (default: where cahier's
            clausier lies, e.g. ``clause_library``).

    Raises:
        InputError: not a Git repository, unknown revision, no clausier at that revision.
    """
    from tasks.git import Repo

    from .library import default_library_path

    lib = default_library_path()
    start = Path(repo) if repo else lib
    try:
        r = Repo.discover(start)
    except InputError:
        raise InputError(
            "pas de dépôt Git ici : indiquez une révision d'un dépôt (--repo) ou deux dossiers.",
            str(start),
        ) from None
    subdir = subdir if subdir is not None else _library_subdir(lib, r.top, repo is None)
    commit = r.rev(rev)
    if commit is None:
        raise InputError(
            f"révision « {rev} » introuvable dans le dépôt {r.top} : indiquez un commit, une "
            "étiquette ou une branche existants (voir « git log --oneline »).",
        )
    base = "" if subdir in ("", ".") else f"{subdir}/"
    listing = r.tree(commit, f"{base}clauses")
    entries = sorted(
        (name, sha) for _mode, typ, sha, name in listing if typ == "blob" and name.endswith(".yaml")
    )
    if not listing:
        raise InputError(
            f"pas de clausier ({subdir}/clauses) dans la révision « {rev} » "
            f"(commit {commit[:10]}).",
        )
    clauses: dict[str, Clause] = {}
    for (name, _sha), raw in zip(entries, r.blobs([sha for _n, sha in entries]), strict=True):
        c = _parse_clause(raw or b"", f"{rev}:{subdir}/clauses/{name}")
        clauses[c.id] = c
    meta_raw = r.blob(commit, f"{base}clausier.yaml")
    version, log = _meta(meta_raw, f"{rev}:{subdir}/clausier.yaml")
    return ClausierSide(
        label=f"{rev} ({commit[:10]})", version=version, clauses=clauses, changelog=log
    )


def _library_subdir(lib: Path, top: Path, default_repo: bool) -> str:
    """Where cahier's clausier lies in the repository (``clause_library`` otherwise)."""
    if default_repo or lib.resolve().is_relative_to(top):
        try:
            return lib.resolve().relative_to(top).as_posix()
        except ValueError:
            pass
    return "clause_library"


def load_side(spec: str, repo: str | os.PathLike[str] | None = None) -> ClausierSide:
    """A folder when ``spec`` is an existing directory (``.`` is cahier's clausier in the
    working tree when no such folder holds clauses), otherwise a Git revision."""
    from .library import default_library_path

    if spec == "." and not (Path(spec) / "clauses").is_dir():
        return load_folder(default_library_path())
    if Path(spec).is_dir():
        return load_folder(spec)
    return load_revision(spec, repo)


# --------------------------------------------------------------------------- comparing


def _dump(clause: Clause) -> dict[str, Any]:
    return clause.model_dump(mode="json", exclude_defaults=False)


def _text_diff(old: str, new: str, cid: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"{cid} (ancien)", f"{cid} (nouveau)", lineterm=""
    )
    return "\n".join(lines)


def diff_clausiers(old: ClausierSide, new: ClausierSide) -> ClausierDiff:
    """Compare two sides: added/removed clauses, changed fields, versioning issues."""
    out = ClausierDiff(old=old, new=new)
    out.added = sorted(set(new.clauses) - set(old.clauses))
    out.removed = sorted(set(old.clauses) - set(new.clauses))
    for cid in sorted(set(old.clauses) & set(new.clauses)):
        change = _clause_change(old.clauses[cid], new.clauses[cid])
        if change is not None:
            out.changed.append(change)
            out.issues.extend(_version_issues(change, new.clauses[cid]))
    out.issues.extend(
        DiffIssue(
            "changelog-manquant",
            "error",
            cid,
            f"{cid} : nouvelle clause en version {new.clauses[cid].version} sans changelog.",
        )
        for cid in out.added
        if new.clauses[cid].version != 1 and not new.clauses[cid].changelog
    )
    out.issues.extend(_clausier_issues(out))
    return out


def _clause_change(a: Clause, b: Clause) -> ClauseChange | None:
    """The fields of one clause that differ between the sides (None: same, same version)."""
    da, db = _dump(a), _dump(b)
    fields = []
    for name in da:
        if name in ("version", "id") or da[name] == db[name]:
            continue
        diff = _text_diff(da[name], db[name], a.id) if name == "text" else None
        fields.append(FieldChange(name, da[name], db[name], diff))
    if not fields and a.version == b.version:
        return None
    return ClauseChange(a.id, a.version, b.version, fields)


def _version_issues(change: ClauseChange, b: Clause) -> list[DiffIssue]:
    """A version that goes down, a meaning changed without a new version, a new version
    without its changelog line."""
    cid, old_v, new_v = change.id, change.old_version, change.new_version
    out: list[DiffIssue] = []
    if new_v < old_v:
        message = (
            f"{cid} : la version passe de {old_v} à {new_v} ; une version ne redescend jamais."
        )
        out.append(DiffIssue("version-en-baisse", "error", cid, message))
    elif change.meaning_changed and new_v == old_v:
        names = ", ".join(f.name for f in change.fields if f.name in MEANING_FIELDS)
        message = (
            f"{cid} : le sens de la clause a changé ({names}) sans changement de "
            f"version : passez « version » à {old_v + 1} et ajoutez une ligne "
            f"« {old_v + 1} — … » au changelog de la clause."
        )
        out.append(DiffIssue("version-non-incrementee", "error", cid, message))
    if new_v > old_v and not any(
        line.strip().startswith((f"{new_v} ", f"{new_v}—")) for line in b.changelog
    ):
        message = (
            f"{cid} : version {new_v} sans ligne « {new_v} — … » dans son "
            "changelog (dites ce qui change pour l'acheteur et le candidat)."
        )
        out.append(DiffIssue("changelog-manquant", "error", cid, message))
    return out


def _clausier_issues(out: ClausierDiff) -> list[DiffIssue]:
    """Clauses changed but clausier.yaml's version unchanged, or its changelog not listing
    them."""
    old, new = out.old, out.new
    issues: list[DiffIssue] = []
    touched = out.added or out.removed or any(c.new_version != c.old_version for c in out.changed)
    if touched and old.version is not None and old.version == new.version:
        message = (
            f"des clauses ont changé mais la version du clausier reste {new.version} : "
            "changez « version » dans clausier.yaml et notez les clauses modifiées dans "
            "son changelog."
        )
        issues.append(DiffIssue("version-clausier-inchangee", "warning", None, message))
    if touched and new.changelog and new.version != old.version:
        entry = next((e for e in new.changelog if str(e.get("version")) == new.version), None)
        listed = (entry or {}).get("clauses") or {}
        expected = {cid: new.clauses[cid].version for cid in out.added} | {
            c.id: c.new_version for c in out.changed if c.new_version != c.old_version
        }
        absent = sorted(cid for cid, v in expected.items() if listed.get(cid) != v)
        if entry is None or absent:
            names = ", ".join(f"{cid} v{expected[cid]}" for cid in absent)
            message = (
                f"le changelog de clausier.yaml pour la version {new.version} ne liste pas "
                f"{names or 'les clauses modifiées'}."
            )
            issues.append(DiffIssue("changelog-clausier-incomplet", "warning", None, message))
    return issues


# --------------------------------------------------------------------------- output


def _short(value: Any, limit: int = 100) -> str:
    s = " ".join(str(value).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def to_text(result: ClausierDiff, console: Any) -> None:
    """French report on a rich console: versions, added, removed, changed, issues."""
    o, n = result.old, result.new
    console.print(
        f"Clausier {o.version or '?'} ({o.label}) → {n.version or '?'} ({n.label})",
        markup=False,
        style="bold",
    )
    if not (result.added or result.removed or result.changed):
        console.print("Aucune différence entre les clauses.", markup=False)
    for cid in result.added:
        c = n.clauses[cid]
        console.print(f"+ {cid} v{c.version} ajoutée — {c.title}", markup=False, style="green")
    for cid in result.removed:
        c = o.clauses[cid]
        console.print(f"- {cid} v{c.version} retirée — {c.title}", markup=False, style="red")
    for ch in result.changed:
        bump = (
            f"v{ch.old_version} → v{ch.new_version}"
            if ch.new_version != ch.old_version
            else f"v{ch.old_version} (version inchangée)"
        )
        console.print(f"~ {ch.id} {bump}", markup=False, style="yellow")
        for f in ch.fields:
            if f.diff:
                console.print(f"    {f.name} :", markup=False)
                for line in f.diff.splitlines():
                    console.print("      " + line, markup=False)
            elif f.name == "changelog":
                added = [x for x in f.new if x not in (f.old or [])]
                console.print(
                    f"    changelog : + {' ; '.join(added) or '(lignes retirées)'}", markup=False
                )
            else:
                console.print(f"    {f.name} : {_short(f.old)} → {_short(f.new)}", markup=False)
    for issue in result.issues:
        label = "ERREUR" if issue.severity == "error" else "AVERTISSEMENT"
        console.print(f"{label} [{issue.rule}] {issue.message}", markup=False)
