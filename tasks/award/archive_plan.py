"""The plan of an archive: what ``cahier archive`` will write, computed without Git.

Pure functions only (no clock, no file, no Git): given what was read from the archived
commit (:class:`ArchiveSpec`), :func:`plan_archive` returns the files of
``archive/<n>/`` (``manifest.json`` last, hashing all the others, the inputs and the
previous archive's manifest), the manifest's SHA-256 and the commit message. The
transaction that commits, tags and writes the plan is :func:`tasks.award.archive.create_archive`.
The layout of an archive is described in :mod:`tasks.award.archive`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ARCHIVE_DIR",
    "FORMAT",
    "MANIFEST",
    "TRAILER",
    "ArchiveInfo",
    "ArchivePlan",
    "ArchiveSpec",
    "commit_message",
    "draft_reasons",
    "is_archive_name",
    "next_number",
    "orphan_numbers",
    "plan_archive",
    "read_manifest",
    "read_reviews_file",
    "sha256",
    "tag_name",
]

ARCHIVE_DIR = "archive"
MANIFEST = "manifest.json"
TRAILER = "Cahier-Archive"
FORMAT = "cahier-archive/1"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def tag_name(tender_id: str, n: int) -> str:
    """``cahier/2026-CD33-PC-001/archive-3``."""
    return f"cahier/{tender_id}/archive-{n}"


def join_path(*parts: str) -> str:
    """Repository-relative POSIX path of ``parts`` (empty and ``.`` parts dropped)."""
    return "/".join(p.strip("/") for p in parts if p and p != ".")


@dataclass
class ArchiveInfo:
    """An archive as created: number, folder (repository-relative), commit, tag, manifest hash.

    ``files`` maps file name → SHA-256; ``draft`` is true for an archive made with
    ``--brouillon``; ``recovered`` is true when the run finished an interrupted archive
    (see :func:`tasks.award.archive.recover`) instead of creating a new one.
    """

    numero: int
    path: str
    commit: str
    tag: str
    manifest_sha256: str
    files: dict[str, str]
    draft: bool = False
    recovered: bool = False
    witnesses: list[str] = field(default_factory=list)


@dataclass
class ArchiveSpec:
    """Everything an archive is made of, as read from the archived commit.

    ``documents``: the computed files in archive order (``evaluation.json``,
    ``evaluation.csv``, ``check-report.json``, optionally ``decp.json``); ``reviews``:
    ``{"file", "sha256", "git_blob"}`` of each review record; ``gate``: French reasons of
    the pending or lapsed reviews; ``inputs``: input file name → raw bytes (hashed into the
    manifest); ``previous``: ``{"numero", "manifest_sha256", "tag", "commit"}`` of archive
    ``numero - 1`` or None; ``summary``: one ``{"lot", "laureat", …}`` per lot;
    ``created_at`` (ISO 8601, UTC) and ``created_by`` (« nom <email> ») are given, not read.
    """

    tender_id: str
    dossier: str
    numero: int
    draft: bool
    documents: dict[str, bytes]
    reviews: list[dict[str, str]]
    gate: list[str]
    inputs: dict[str, bytes]
    source_commit: str
    clausier_version: str
    method_version: str
    created_at: str
    created_by: str
    summary: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, Any] | None = None
    assembly_raw: bytes | None = None
    assembly_draft: bool = False


@dataclass
class ArchivePlan:
    """What the transaction writes: ``files`` of ``folder`` (name → bytes, manifest last),
    the manifest's SHA-256, the commit ``message`` and the ``tag`` name."""

    tender_id: str
    numero: int
    folder: str
    tag: str
    files: dict[str, bytes]
    manifest_sha256: str
    message: str
    draft: bool
    previous_sha256: str | None


def orphan_numbers(in_head: Iterable[int], tagged: Iterable[int]) -> list[int]:
    """Archive numbers tagged but absent from the branch (history rewritten or archive
    deleted), ascending."""
    return sorted(set(tagged) - set(in_head))


def next_number(in_head: Iterable[int], tagged: Iterable[int]) -> int:
    """The number of the next archive: one more than any archive on the branch or tagged
    (so that a deleted archive's number is never reused)."""
    return max([*in_head, *tagged], default=0) + 1


def draft_reasons(draft: bool, gate: list[str], assembly_draft: bool) -> list[str]:
    """French reasons written in a draft archive's manifest (empty when not a draft)."""
    if not draft:
        return []
    reasons = ["archive faite en brouillon (cahier archive --brouillon)"]
    if gate:
        reasons.append(
            f"{len(gate)} revue(s) de référent non obtenue(s) ou caduque(s) "
            "(détail dans reviews.json)"
        )
    if assembly_draft:
        reasons.append(
            "assemblage projet (cahier assemble --draft, documents filigranés « PROJET »)"
        )
    return reasons


def commit_message(
    tender_id: str,
    n: int,
    manifest_sha: str,
    previous_sha: str | None,
    reasons: list[str],
    *,
    draft: bool,
) -> str:
    """The archive commit's message: title, manifest hash, previous hash and the
    ``Cahier-Archive: <id>/<n>`` trailer (read back by recovery and the audit)."""
    return (
        f"Archive n° {n}{' (BROUILLON)' if draft else ''} de l'évaluation du dossier "
        f"{tender_id}\n\n"
        "Archive figée par cahier : ses fichiers ne sont jamais modifiés ; une correction "
        "est une nouvelle archive qui pointe vers celle-ci.\n"
        + (f"Brouillon : oui — {' ; '.join(reasons[1:]) or 'demandé'}\n" if draft else "")
        + f"Manifeste SHA-256 : {manifest_sha}\n"
        f"Archive précédente : {previous_sha or 'aucune'}\n\n"
        f"{TRAILER}: {tender_id}/{n}\n"
    )


def _manifest(spec: ArchiveSpec, files: dict[str, bytes], reasons: list[str]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tender": spec.tender_id,
        "numero": spec.numero,
        "dossier": spec.dossier,
        "created_at": spec.created_at,
        "created_by": spec.created_by,
        "draft": spec.draft,
        "draft_reasons": reasons,
        "source_commit": spec.source_commit,
        "clausier_version": spec.clausier_version,
        "methode_evaluation": spec.method_version,
        "inputs": {name: sha256(raw) for name, raw in spec.inputs.items()},
        "files": {name: {"sha256": sha256(d), "bytes": len(d)} for name, d in files.items()},
        "previous": spec.previous,
        "summary": spec.summary,
    }


_HEX40 = r"^[0-9a-f]{40}$"


def is_archive_name(name: str) -> bool:
    """Whether ``name`` is the folder name of an archive: its number, without leading
    zero (« 1 », « 12 »; not « 01 », « 0 » nor « 1a »)."""
    return name.isascii() and name.isdigit() and name[0] != "0" and len(name) <= 9


@functools.cache
def _manifest_adapter() -> Any:
    """A pydantic TypeAdapter of the fields of ``manifest.json`` that the audit reads."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter

    class _File(BaseModel):
        model_config = ConfigDict(extra="allow")
        sha256: StrictStr

    class _Previous(BaseModel):
        model_config = ConfigDict(extra="allow")
        manifest_sha256: StrictStr

    class _Manifest(BaseModel):
        model_config = ConfigDict(extra="allow")
        files: dict[StrictStr, _File]
        dossier: StrictStr | None = None
        source_commit: Annotated[StrictStr, Field(pattern=_HEX40)] | None = None
        methode_evaluation: StrictStr | StrictInt | None = None
        previous: _Previous | None = None

    return TypeAdapter(_Manifest)


@functools.cache
def _reviews_adapter() -> Any:
    from pydantic import BaseModel, ConfigDict, StrictStr, TypeAdapter

    class _Record(BaseModel):
        model_config = ConfigDict(extra="allow")
        file: StrictStr
        sha256: StrictStr

    class _Reviews(BaseModel):
        model_config = ConfigDict(extra="allow")
        records: list[_Record] = []

    return TypeAdapter(_Reviews)


def _read_json(raw: bytes | None, adapter: Any) -> dict[str, Any] | None:
    """The JSON object of ``raw`` when ``adapter`` validates it, else None."""
    if not raw:
        return None
    from pydantic import ValidationError

    try:
        data = json.loads(raw)
        adapter.validate_python(data)
    except (ValueError, ValidationError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def read_manifest(raw: bytes | None) -> dict[str, Any] | None:
    """An archive's ``manifest.json`` as cahier writes it, or None.

    None when ``raw`` is empty, not JSON, or lacks the shape written by
    :func:`plan_archive`: a ``files`` object of ``{"sha256": str}``, a ``source_commit``
    of 40 hex digits, a ``previous`` object with ``manifest_sha256``, a text ``dossier``.
    The audit reports such a manifest as unreadable (« manifeste illisible »), never
    reads a field of the wrong type. Returns the decoded JSON object, unchanged.
    """
    return _read_json(raw, _manifest_adapter())


def read_reviews_file(raw: bytes | None) -> dict[str, Any] | None:
    """An archive's ``reviews.json`` (``{"records": [{"file", "sha256", …}], …}``) or None
    when it is empty, not JSON or not of that shape."""
    return _read_json(raw, _reviews_adapter())


def plan_archive(spec: ArchiveSpec) -> ArchivePlan:
    """The files, manifest hash and commit message of archive ``spec.numero``.

    Files, in order: the documents, ``reviews.json`` (records, gate, whether the gate was
    waived by a draft), ``assembly-manifest.json`` (when given), ``manifest.json``.
    Deterministic: the same spec gives the same bytes.
    """
    from tasks.dossier.model import json_text

    def as_json(data: Any) -> bytes:
        return json_text(data).encode("utf-8")

    files = dict(spec.documents)
    files["reviews.json"] = as_json(
        {"records": spec.reviews, "gate": spec.gate, "draft": bool(spec.draft and spec.gate)}
    )
    if spec.assembly_raw is not None:
        files["assembly-manifest.json"] = spec.assembly_raw
    reasons = draft_reasons(spec.draft, spec.gate, spec.assembly_draft)
    files[MANIFEST] = as_json(_manifest(spec, files, reasons))
    manifest_sha = sha256(files[MANIFEST])
    previous_sha = spec.previous["manifest_sha256"] if spec.previous else None
    return ArchivePlan(
        tender_id=spec.tender_id,
        numero=spec.numero,
        folder=join_path(spec.dossier, ARCHIVE_DIR, str(spec.numero)),
        tag=tag_name(spec.tender_id, spec.numero),
        files=files,
        manifest_sha256=manifest_sha,
        message=commit_message(
            spec.tender_id, spec.numero, manifest_sha, previous_sha, reasons, draft=spec.draft
        ),
        draft=spec.draft,
        previous_sha256=previous_sha,
    )
