"""Flow ``assemble_tender``: the final DCE, conversions run concurrently by Prefect.

Reads the dossier, applies the gate and renders the pieces (``tasks.publish.assemble.prepare``),
then maps one Prefect task per (piece, format) on the task runner, finalises (manifest,
zip, atomic move into the output folder) and publishes a Markdown artifact listing the
outputs and their SHA-256, keyed ``assembly-<tender-id>`` (slugified).
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.check import read_task
from flows.common import dossier_flow, publish_artifact
from tasks.clausier.library import load_clausier
from tasks.publish.assemble import (
    FORMATS,
    AssemblyResult,
    check_formats,
    check_output_dir,
    convert,
    copy_sources,
    finalize,
    prepare,
    staged_context,
)

__all__ = ["assemble_tender", "outputs_markdown"]


prepare_task = task(prepare).with_options(
    name="contrôler et préparer les pièces", cache_policy=NO_CACHE
)
convert_task = task(convert).with_options(name="convertir une pièce", cache_policy=NO_CACHE)
finalize_task = task(finalize).with_options(name="manifeste et archive", cache_policy=NO_CACHE)


def outputs_markdown(result: AssemblyResult) -> str:
    """French Markdown table of the outputs and their SHA-256 (the flow's artifact)."""
    m = result.manifest
    lines = [
        f"# Assemblage du dossier {m['tender']}" + (" (PROJET)" if m["draft"] else ""),
        "",
        f"Dossier de sortie : `{result.out_dir}` — commit `{m['git'].get('commit') or 'hors Git'}` "
        f"— clausier {m['clausier_version']} — pandoc {m['tools'].get('pandoc')}, "
        f"typst {m['tools'].get('typst')}",
        "",
        "| Fichier | Format | Pièce source | SHA-256 |",
        "|---|---|---|---|",
    ]
    for o in m["outputs"]:
        lines.append(f"| {o['path']} | {o['format']} | {o['source']} | `{o['sha256']}` |")
    z = m["zip"]
    lines.append(f"| {z['path']} | zip | — | `{z['sha256']}` |")
    repro = m.get("reproducibility", {})
    if repro.get("previous_manifest") and "all_identical" in repro:
        lines += [
            "",
            "Reproductible : identique à l'assemblage précédent."
            if repro["all_identical"]
            else "Différent de l'assemblage précédent : " + ", ".join(repro["different"]),
        ]
    return "\n".join(lines) + "\n"


@dossier_flow("assemble-tender", "assemblage")
def assemble_tender(
    dossier: str,
    rev: str | None = None,
    formats: list[str] | tuple[str, ...] = FORMATS,
    out: str | None = None,
    draft: bool = False,
    clausier_path: str | None = None,
) -> AssemblyResult:
    """Assemble one dossier; returns the result (outputs, manifest, zip).

    Args:
        dossier: folder holding tender.yaml (in a Git repository when ``rev`` is given).
        rev: Git revision or None for the working tree.
        formats: subset of docx, odt, html, pdf.
        out: output folder (default ``out/<tender-id>/`` under the current directory).
        draft: « PROJET » watermark, no blocking gate.

    Raises:
        AssemblyRefused: gate or template findings; InputError: bad input or output.
    """
    logger = get_run_logger()
    formats = check_formats(formats)
    d = read_task(dossier, rev)
    lib = load_clausier(clausier_path, dossier=dossier)
    out_dir = check_output_dir(Path(out) if out else Path("out") / d.tender.id, Path(d.root))
    docs, findings, ids = prepare_task(d, lib, draft)
    with staged_context(d, lib, draft, out_dir) as ctx:
        jobs = [(doc, fmt) for doc in docs for fmt in formats]
        futures = convert_task.map([j[0] for j in jobs], [j[1] for j in jobs], ctx=ctx)
        outputs = [o for fut in futures for o in fut.result()] + copy_sources(d, ctx)
        result = finalize_task(d, lib, ctx, outputs, out_dir, findings, formats, ids)
    publish_artifact("assembly", d.tender.id, outputs_markdown(result))
    logger.info(
        "Dossier %s assemblé%s : %d fichier(s) dans %s, archive %s",
        d.tender.id,
        " en PROJET (à ne pas publier)" if draft else "",
        len(result.outputs),
        out_dir,
        result.zip_path.name,
    )
    return result
