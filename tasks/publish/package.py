"""Output folder rules, manifest, zip and the move into place."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import posixpath
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tasks.clausier.library import Clausier
from tasks.dossier.model import Finding
from tasks.dossier.reader import Dossier
from tasks.errors import InputError
from tasks.publish.base import REFERENCE_DIR
from tasks.publish.convert import AssemblyContext, OutputFile, _git_info, _out, _write
from tasks.publish.tools import pandoc_version

# --------------------------------------------------------------------------- output dir


def check_output_dir(out: Path, dossier_root: Path, allowed_root: Path | None = None) -> Path:
    """Validate the output folder; returns it resolved.

    Rules (docs/assembly.md): a folder the user typed (``--out``) is the user's choice,
    anywhere on the disk, as for every command's ``-o/--out``; when a caller confines it
    (``allowed_root``, e.g. a path that comes from dossier content) it must lie inside
    that area. In every case it must not be inside the dossier nor inside any folder
    holding a tender.yaml, must not contain the dossier, and if it exists and is not
    empty it must hold a previous ``manifest.json`` (cahier never mixes its files with
    others).

    Raises:
        InputError: the folder breaks one of these rules (French message).
    """
    o = out.resolve()
    d = dossier_root.resolve()
    a = allowed_root.resolve() if allowed_root is not None else None
    if a is not None and not o.is_relative_to(a):
        raise InputError(
            f"dossier de sortie hors de la zone autorisée ({a}) : choisissez un dossier sous {a}.",
            str(out),
        )
    if o.is_relative_to(d) or d.is_relative_to(o):
        raise InputError(
            "dossier de sortie refusé : il ne doit être ni dans le dossier de la consultation "
            "ni le contenir (les documents assemblés ne sont pas des pièces sources) ; "
            "utilisez par exemple out/<consultation>/.",
            str(out),
        )
    for parent in [o, *o.parents]:
        if a is not None and parent == a.parent:
            break
        if (parent / "tender.yaml").exists():
            raise InputError(
                f"dossier de sortie refusé : il est dans un dossier de consultation ({parent}).",
                str(out),
            )
    if o.exists():
        if not o.is_dir():
            raise InputError("le chemin de sortie existe et n'est pas un dossier.", str(out))
        if any(o.iterdir()) and not (o / "manifest.json").is_file():
            raise InputError(
                "dossier de sortie non vide et sans manifest.json : cahier n'écrit que dans "
                "un dossier vide ou dans un dossier d'assemblage précédent.",
                str(out),
            )
    return o


# --------------------------------------------------------------------------- manifest


@dataclass
class AssemblyResult:
    """What :func:`assemble` wrote."""

    out_dir: Path
    outputs: list[OutputFile]
    manifest_path: Path
    zip_path: Path
    manifest: dict[str, Any]
    findings: list[Finding]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dossier_reader(dossier: Dossier) -> Callable[[str], bytes | None]:
    """Bytes of a file of the dossier (relative path), from disk or from the Git revision
    read; None when absent or outside the dossier."""
    if dossier.commit:
        from tasks.git import Repo

        repo = Repo.discover(dossier.root)
        rel_root = repo.rel(dossier.root)
        entries = {
            path: (mode, typ, sha)
            for mode, typ, sha, path in repo.tree(dossier.commit, rel_root, recursive=True)
        }

        def read_git(rel: str) -> bytes | None:
            rel = posixpath.normpath(rel)
            if rel.startswith(("..", "/")):
                return None
            mode, typ, sha = entries.get(rel, ("", "", ""))
            if typ != "blob" or mode == "120000":
                return None
            return repo.blobs([sha])[0]

        return read_git
    root = Path(dossier.root).resolve()

    def read_disk(rel: str) -> bytes | None:
        p = (root / rel).resolve()
        if not p.is_relative_to(root) or not p.is_file():
            return None
        return p.read_bytes()

    return read_disk


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"pandoc": pandoc_version()}
    for dist in ("typst", "cahier", "jinja2", "pypandoc_binary"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def deterministic_zip(files: list[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip with entries sorted by name and fixed dates/permissions."""
    d = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC)
    date = (d.year, d.month, d.day, d.hour, d.minute, d.second - d.second % 2)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in sorted(files):
            zi = zipfile.ZipInfo(name, date_time=date)
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return buf.getvalue()


def zip_name_for(tender_id: str, draft: bool) -> str:
    """« <id>-dce.zip » for a final assembly, « <id>-dce-PROJET.zip » for a draft: a draft
    cannot be mistaken for the archive to publish."""
    return f"{tender_id}-dce-PROJET.zip" if draft else f"{tender_id}-dce.zip"


def _remove_stale(out_dir: Path, paths: Iterable[str]) -> None:
    """Delete files of the previous manifest that this assembly did not rewrite (a draft
    replaced by a final assembly, a format no longer asked for): the folder then holds
    exactly what the new manifest lists. Only paths inside ``out_dir`` are touched."""
    root = out_dir.resolve()
    for rel in sorted(paths):
        if not rel or rel.startswith(("/", "\\")) or ".." in PurePosixPath(rel).parts:
            continue
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or target == root:
            continue
        if target.is_file() or target.is_symlink():
            target.unlink()
            parent = target.parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def finalize(
    dossier: Dossier,
    clausier: Clausier,
    ctx: AssemblyContext,
    outputs: list[OutputFile],
    out_dir: Path,
    findings: list[Finding],
    formats: Iterable[str],
    clause_ids: Iterable[str],
) -> AssemblyResult:
    """Zip the publishable pieces, write manifest.json, move everything into ``out_dir``.

    Every file goes through the staging folder and :func:`os.replace`: an interrupted
    assembly leaves no half-written file in ``out_dir``. The zip is ``<id>-dce.zip``, or
    ``<id>-dce-PROJET.zip`` for a draft (:func:`zip_name_for`); files listed by the
    previous manifest of ``out_dir`` and not rewritten are removed (a final assembly
    never sits next to draft files), then manifest.json is moved in last.
    """
    inputs = _inputs(dossier, clausier, ctx, clause_ids)
    findings = list(findings) + [f for o in outputs for f in o.findings]
    zip_name = zip_name_for(ctx.tender.id, ctx.draft)
    publish = [(o.path, (ctx.staging / o.path).read_bytes()) for o in outputs if o.publish]
    zdata = deterministic_zip(publish, ctx.epoch)
    _write(ctx, zip_name, zdata)
    outputs_map = {o.path: o.sha256 for o in outputs}
    outputs_map[zip_name] = _sha(zdata)
    old_map, repro = _compare_previous(out_dir / "manifest.json", outputs_map, inputs)
    manifest = _manifest(dossier, clausier, ctx, outputs, formats, inputs, findings)
    manifest["zip"] = {"path": zip_name, "sha256": _sha(zdata), "bytes": len(zdata)}
    manifest["reproducibility"] = repro
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    _write(ctx, "manifest.json", text.encode("utf-8"))
    names = [o.path for o in outputs] + [zip_name]
    _move_into(ctx, out_dir, names, set(old_map))
    return AssemblyResult(
        out_dir, outputs, out_dir / "manifest.json", out_dir / zip_name, manifest, findings
    )


def _inputs(
    dossier: Dossier, clausier: Clausier, ctx: AssemblyContext, clause_ids: Iterable[str]
) -> list[dict[str, str]]:
    """``{path, sha256}`` of everything the assembly read: tender.yaml, the pieces, the
    clauses used, cahier's reference templates and the buyer's look."""
    read = _dossier_reader(dossier)
    inputs = [{"path": dossier.tender_file, "sha256": _sha(read(dossier.tender_file) or b"")}]
    for p in sorted(dossier.pieces, key=lambda p: p.path):
        data = read(p.path)
        if data is not None:
            inputs.append({"path": p.path, "sha256": _sha(data)})
    lib_root = Path(clausier.root)
    for cid in sorted(set(clause_ids)):
        f = lib_root / "clauses" / f"{cid}.yaml"
        if f.is_file():
            inputs.append(
                {"path": f"clause_library/clauses/{cid}.yaml", "sha256": _sha(f.read_bytes())}
            )
    for name in ("reference.docx", "reference.odt", "cahier.html", "cahier.typ"):
        f = REFERENCE_DIR / name
        inputs.append(
            {"path": f"clause_library/templates/reference/{name}", "sha256": _sha(f.read_bytes())}
        )
    for f in ctx.look.files:  # the buyer's look (reference documents, template, logo, fonts)
        inputs.append({"path": f"look/{f['path']}", "sha256": f["sha256"]})
    return inputs


def _compare_previous(
    previous: Path, outputs_map: dict[str, str], inputs: list[dict[str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The previous manifest's ``path → sha256`` (outputs and zip) and the
    reproducibility record: same inputs, identical and different outputs."""
    if not previous.is_file():
        return {}, {"previous_manifest": False}
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
        old_map = {o["path"]: o["sha256"] for o in old.get("outputs", [])}
        old_map[old.get("zip", {}).get("path", "")] = old.get("zip", {}).get("sha256")
        same = sorted(p for p, h in outputs_map.items() if old_map.get(p) == h)
        diff = sorted(p for p, h in outputs_map.items() if p in old_map and old_map[p] != h)
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}, {"previous_manifest": True, "unreadable": True}
    return old_map, {
        "previous_manifest": True,
        "same_inputs": old.get("inputs") == inputs,
        "identical": same,
        "different": diff,
        "all_identical": not diff and len(same) == len(outputs_map),
    }


def _manifest(
    dossier: Dossier,
    clausier: Clausier,
    ctx: AssemblyContext,
    outputs: list[OutputFile],
    formats: Iterable[str],
    inputs: list[dict[str, str]],
    findings: list[Finding],
) -> dict[str, Any]:
    """manifest.json's fields, in the order written; the zip and the reproducibility
    record are filled in by :func:`finalize`."""
    git = _git_info(dossier)
    return {
        "manifest": "cahier-assemblage/1",
        "tender": ctx.tender.id,
        "objet": " ".join(ctx.tender.objet.split()),
        "draft": ctx.draft,
        "status": "projet — ne pas publier" if ctx.draft else "définitif",
        "formats": list(formats),
        "source_date_epoch": ctx.epoch,
        "source_date": ctx.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": {"commit": git.get("commit"), "rev": dossier.rev, "dirty": git.get("dirty")},
        "clausier_version": clausier.version,
        "tools": _tool_versions(),
        "inputs": inputs,
        "outputs": [
            {
                "path": o.path,
                "source": o.source,
                "format": o.format,
                "sha256": o.sha256,
                "bytes": o.bytes,
                **({"fonts": o.fonts} if o.fonts else {}),
            }
            for o in sorted(outputs, key=lambda o: o.path)
        ],
        "zip": None,
        "look": {
            "font": ctx.look.font,
            "font_files": [{"file": name, "family": fam} for name, fam, _ in ctx.look.fonts],
            "logo": ctx.look.logo[0] if ctx.look.logo else None,
        },
        "reproducibility": None,
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in findings],
    }


def _move_into(ctx: AssemblyContext, out_dir: Path, names: list[str], old: set[str]) -> None:
    """Each file from the staging folder into ``out_dir`` (:func:`os.replace`), the files
    of the previous manifest not rewritten removed, manifest.json moved in last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        dst = out_dir / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ctx.staging / name, dst)
    _remove_stale(out_dir, old - set(names) - {"manifest.json"})
    os.replace(ctx.staging / "manifest.json", out_dir / "manifest.json")


# --------------------------------------------------------------------------- all


def copy_sources(dossier: Dossier, ctx: AssemblyContext) -> list[OutputFile]:
    """Non-Markdown pieces (imported DOCX/ODT/PDF, spreadsheets) are published as-is."""
    read = _dossier_reader(dossier)
    out: list[OutputFile] = []
    for p in dossier.pieces:
        if p.format == "md":
            continue
        data = read(p.path)
        if data is not None:
            name = "sources/" + PurePosixPath(p.path).name
            out.append(_out(ctx, name, p.path, "source", data))
    return out
