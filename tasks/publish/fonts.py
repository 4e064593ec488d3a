"""Fonts of the PDF: the buyer's font and logo placed by a prelude, Typst's font warnings
surfaced in French, and the fonts actually embedded read back from the PDF (pikepdf).

PDF/UA-1 (ISO 14289-1 §7.21.4.1) and PDF/A-2 require every font to be embedded; Typst
embeds (subsets of) the fonts it uses, and the manifest records their names per PDF.
"""

from __future__ import annotations

import io
import re

from tasks.clausier.rules import rule_severity
from tasks.dossier.model import Finding, Location
from tasks.publish.look import Look
from tasks.publish.media import typst_string

__all__ = ["embedded_fonts", "font_findings", "typst_prelude"]

_MONO_OR_MATH = re.compile(r"mono|math|code", re.I)


def typst_prelude(look: Look) -> bytes:
    """Typst lines put before the template: ``#cahier-logo`` (the buyer's logo with its
    alternative text, or nothing) and the body font asked for (``look.font``)."""
    lines = []
    if look.logo is not None:
        name = look.logo[0]
        alt = look.logo_alt or "Logo de l'acheteur"
        lines.append(
            f"#let cahier-logo = box(image({typst_string(name)}, height: 1.6cm, "
            f"alt: {typst_string(alt)}))"
        )
    else:
        lines.append("#let cahier-logo = none")
    if look.font:
        lines.append(f"#set text(font: {typst_string(look.font)})")
    return ("\n".join(lines) + "\n").encode("utf-8")


def embedded_fonts(pdf: bytes) -> list[str]:
    """Names of the fonts embedded in ``pdf`` (BaseFont without the subset prefix),
    sorted; a font without a FontFile stream is listed as « nom (non incorporée) »."""
    import pikepdf

    names: set[str] = set()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for obj in doc.objects:
            if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/FontDescriptor":
                continue
            name = str(obj.get("/FontName", "")).lstrip("/")
            name = re.sub(r"^[A-Z]{6}\+", "", name)
            embedded = any(k in obj for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            names.add(name if embedded else f"{name} (non incorporée)")
    return sorted(names)


def font_findings(warnings: list[str], embedded: list[str], where: str) -> list[Finding]:
    """Typst's font warnings as French warnings (« police … introuvable, remplacée par
    … »); other Typst warnings are kept, quoted, as info findings."""
    body = list(dict.fromkeys(f.split("-")[0] for f in embedded if not _MONO_OR_MATH.search(f)))
    replacement = ", ".join(body) or "une police intégrée à Typst"
    out: list[Finding] = []
    for w in warnings:
        m = re.search(r"unknown font famil(?:y|ies): (.+)", w)
        if m:
            names = ", ".join(f"« {n.strip()} »" for n in m[1].split(","))
            out.append(
                Finding(
                    rule="police-introuvable",
                    severity=rule_severity("police-introuvable", section="assemblage"),
                    location=Location(file=where),
                    message=f"police {names} introuvable, remplacée par « {replacement} » : "
                    "placez ses fichiers .ttf/.otf dans un dossier déclaré par font_dirs "
                    "(cahier.yaml ou cahier-organisation.yaml).",
                )
            )
        else:
            out.append(
                Finding(
                    rule="avertissement-typst",
                    severity=rule_severity("avertissement-typst", section="assemblage"),
                    location=Location(file=where),
                    message=f"avertissement de Typst : « {w[:200]} ».",
                )
            )
    return out
