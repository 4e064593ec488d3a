"""The buyer's look: reference DOCX/ODT, Typst template, logo and fonts, confined.

Read ONLY through :func:`tasks.config.settings.load_settings` (``look`` section of the
organisation's ``cahier-organisation.yaml`` or of the tender's ``cahier.yaml``). Every
file must lie — after resolving symbolic links — inside the dossier or inside the
organisation's folder (``organisation`` setting); anything else is a located error
finding ``apparence-refusee`` and nothing is read from it. Each file is checked for what
it claims to be:

- reference DOCX/ODT: a zip holding ``word/document.xml`` / an ODF text ``mimetype``;
- Typst template: UTF-8 text with ``$body$``, without any construct that reads a file or
  loads code (``read``, ``json``, ``yaml``, ``csv``, ``xml``, ``toml``, ``cbor``,
  ``image``, ``plugin``, ``#import``, ``#include``) — finding ``gabarit-typst-non-sur``
  with the template's line; the logo is placed by cahier (``#cahier-logo``);
- logo: PNG, JPEG, GIF or safe SVG (:func:`tasks.publish.media.image_type`);
- fonts: ``.ttf``/``.otf``/``.ttc`` files of ``font_dirs`` that Typst can read
  (otherwise ``police-invalide``); at most :data:`MAX_FONT_FILES` files of
  :data:`MAX_FONT_BYTES` bytes each.

Typst compiles without system fonts: only its embedded fonts and these files exist, so
the PDF is the same on every machine; a family asked for and not found is reported by
Typst and surfaced in French (« police … introuvable, remplacée par … »).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tasks.clausier.rules import rule_severity
from tasks.config.settings import Settings
from tasks.dossier.model import Finding, Location
from tasks.publish.media import image_type

__all__ = ["MAX_FONT_BYTES", "MAX_FONT_FILES", "TYPST_FORBIDDEN", "Look", "resolve_look"]

MAX_FONT_FILES = 64
MAX_FONT_BYTES = 30_000_000
MAX_LOOK_BYTES = 20_000_000
_FONT_EXT = (".ttf", ".otf", ".ttc")
_FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")

#: Typst constructs a buyer's template may not use: they read files or load code.
TYPST_FORBIDDEN = re.compile(
    r"(?<![\w-])(read|json|yaml|csv|xml|toml|cbor|image|plugin)(?:\.decode)?\s*\("
    r"|#\s*(import|include)\b|(?<![\w-])(import|include)\s+\""
)


@dataclass
class Look:
    """The look resolved for one assembly (all paths checked; None = cahier's default).

    files: every look file read, as ``(label, sha256)`` for the manifest.
    fonts: ``(file name, family, bytes)`` of the validated font files.
    """

    reference_docx: Path | None = None
    reference_odt: Path | None = None
    typst_template: Path | None = None
    logo: tuple[str, bytes] | None = None  # (file name, bytes)
    logo_alt: str | None = None
    font: str | None = None
    fonts: list[tuple[str, str, bytes]] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)


def _where(settings: Settings, key: str) -> tuple[str, int | None]:
    """The settings file that declares ``key`` (last one wins) and its line."""
    for src in reversed(settings.sources):
        try:
            text = src.read_text(encoding="utf-8")
        except OSError:
            continue
        m = re.search(rf"(?m)^\s*{re.escape(key)}\s*:", text)
        if m:
            return str(src), text.count("\n", 0, m.start()) + 1
    return (str(settings.sources[-1]) if settings.sources else "configuration"), None


def resolve_look(settings: Settings, dossier_root: Path) -> tuple[Look, list[Finding]]:
    """Check and read the look declared in ``settings`` for the dossier at ``dossier_root``.

    Returns:
        the :class:`Look` (defaults where nothing valid is declared) and the findings
        (errors: the assembly refuses; each names the settings file and line).
    """
    r = _Resolver(settings, dossier_root)
    r.reference_documents()
    r.typst_template()
    r.logo()
    for folder in settings.look.font_dirs:
        r.fonts(folder)
    return r.look, r.findings


class _Resolver:
    """The look being read: files confined to the dossier and the organisation's folder,
    each refusal a finding naming the settings file and line."""

    def __init__(self, settings: Settings, dossier_root: Path) -> None:
        self.settings = settings
        self.cfg = settings.look
        self.dossier = dossier_root.resolve()
        self.roots = [self.dossier]
        if settings.organisation:
            self.roots.append(Path(settings.organisation).expanduser().resolve())
        self.look = Look(logo_alt=self.cfg.logo_alt, font=self.cfg.font)
        self.findings: list[Finding] = []

    def finding(self, rule: str, location: Location, message: str) -> None:
        """Add a finding of ``rule`` (severity: rules.yaml ``assemblage``)."""
        severity = rule_severity(rule, section="assemblage")
        self.findings.append(
            Finding(rule=rule, severity=severity, location=location, message=message)
        )

    def refuse(self, key: str, rule: str, message: str) -> None:
        """Add a finding located at the setting ``key`` (settings file and line)."""
        file, line = _where(self.settings, key)
        self.finding(rule, Location(file=file, line=line), message)

    def label(self, p: Path) -> str:
        """``dossier:…`` or ``organisation:…``: where a file of the look comes from."""
        for root, name in zip(self.roots, ("dossier", "organisation"), strict=False):
            if p.is_relative_to(root):
                return f"{name}:{p.relative_to(root).as_posix()}"
        return p.name

    def confined(self, key: str, path: Path, kind: str = "fichier") -> Path | None:
        """The real path of a declared file or folder, or None (refused: outside the
        allowed folders, absent, larger than :data:`MAX_LOOK_BYTES`)."""
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = self.dossier / p
        real = p.resolve()
        problem = None
        if not any(real.is_relative_to(r) for r in self.roots):
            problem = (
                f"{kind} « {path} » hors du dossier et du dossier de l'organisation : "
                "placez-le dans la consultation ou déclarez-le dans cahier-organisation.yaml "
                "(rien n'a été lu)."
            )
        elif (kind == "fichier" and not real.is_file()) or (
            kind == "dossier" and not real.is_dir()
        ):
            problem = f"{kind} « {path} » introuvable."
        elif kind == "fichier" and real.stat().st_size > MAX_LOOK_BYTES:
            problem = f"fichier « {path} » trop volumineux (> 20 Mo)."
        if problem:
            self.refuse(key, "apparence-refusee", problem)
            return None
        return real

    def read(self, key: str) -> tuple[Path, bytes] | None:
        """The file declared as ``key`` (confined, :meth:`confined`) and its bytes, or None
        when it is not declared or refused."""
        value = getattr(self.cfg, key)
        p = self.confined(key, value) if value is not None else None
        return None if p is None else (p, p.read_bytes())

    def record(self, p: Path, data: bytes) -> None:
        self.look.files.append({"path": self.label(p), "sha256": hashlib.sha256(data).hexdigest()})

    def reference_documents(self) -> None:
        """``reference_docx`` and ``reference_odt``: valid DOCX / ODT packages."""
        for key, member, what in (
            ("reference_docx", "word/document.xml", "DOCX"),
            ("reference_odt", "mimetype", "ODT"),
        ):
            found = self.read(key)
            if found is None:
                continue
            p, data = found
            try:
                with zipfile.ZipFile(p) as z:
                    ok = member in z.namelist() and (
                        what != "ODT" or z.read("mimetype").startswith(b"application/vnd.oasis")
                    )
            except (zipfile.BadZipFile, OSError, KeyError):
                ok = False
            if not ok:
                value = getattr(self.cfg, key)
                message = f"« {value} » n'est pas un document {what} valide."
                self.refuse(key, "apparence-refusee", message)
                continue
            self.record(p, data)
            setattr(self.look, key, p)

    def typst_template(self) -> None:
        """``typst_template``: a template without the constructs Typst's sandbox refuses."""
        found = self.read("typst_template")
        if found is None:
            return
        p, data = found
        problem = _typst_template_problem(data)
        if problem:
            line, message = problem
            self.finding("gabarit-typst-non-sur", Location(file=self.label(p), line=line), message)
            return
        self.record(p, data)
        self.look.typst_template = p

    def logo(self) -> None:
        """``logo``: an image of an accepted type."""
        found = self.read("logo")
        if found is None:
            return
        p, data = found
        problem = image_type(p.name, data)
        if problem:
            self.refuse(
                "logo", "apparence-refusee", f"logo « {self.cfg.logo} » refusé : {problem}."
            )
            return
        self.record(p, data)
        self.look.logo = ("cahier-logo" + p.suffix.lower(), data)

    def fonts(self, folder: Path) -> None:
        """One folder of ``font_dirs``: at most :data:`MAX_FONT_FILES` readable fonts."""
        d = self.confined("font_dirs", folder, "dossier")
        if d is None:
            return
        files = sorted(f for f in d.rglob("*") if f.suffix.lower() in _FONT_EXT)
        if len(files) > MAX_FONT_FILES:
            message = f"plus de {MAX_FONT_FILES} polices dans « {folder} »."
            self.refuse("font_dirs", "police-invalide", message)
            return
        for f in files:
            real = f.resolve()
            if not any(real.is_relative_to(r) for r in self.roots) or not real.is_file():
                message = f"police « {f.name} » hors des dossiers autorisés (lien)."
                self.refuse("font_dirs", "apparence-refusee", message)
                continue
            data = real.read_bytes()
            family = _font_family(real, data)
            if family is None:
                message = (
                    f"« {self.label(real)} » n'est pas une police lisible (TrueType ou "
                    "OpenType) : retirez-la ou remplacez-la par le fichier .ttf/.otf fourni "
                    "par la fonderie."
                )
                self.refuse("font_dirs", "police-invalide", message)
                continue
            self.record(real, data)
            self.look.fonts.append((real.name, family, data))


def _font_family(path: Path, data: bytes) -> str | None:
    """The family Typst reads in a font file, or None when it is not a usable font."""
    if len(data) > MAX_FONT_BYTES or not data.startswith(_FONT_MAGIC):
        return None
    import tempfile

    import typst

    with tempfile.TemporaryDirectory(prefix="cahier-font-") as tmp:
        Path(tmp, path.name).write_bytes(data)
        infos = typst.Fonts(
            include_system_fonts=False, include_embedded_fonts=False, font_paths=[tmp]
        ).fonts()
    return infos[0].family if infos else None


def _typst_template_problem(data: bytes) -> tuple[int | None, str] | None:
    """``(line, French message)`` when a buyer's Typst template is refused, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "gabarit Typst illisible (il doit être en UTF-8)."
    for n, line in enumerate(text.split("\n"), 1):
        code = line.split("//", 1)[0]
        m = TYPST_FORBIDDEN.search(code)
        if m:
            what = m.group(0).strip()
            return n, (
                f"gabarit Typst refusé : « {what} » lit un fichier ou charge du code ; un "
                "gabarit ne fait que la mise en page (le logo est placé par #cahier-logo, les "
                "polices sont déclarées dans font_dirs)."
            )
    if "$body$" not in text:
        return None, "gabarit Typst sans « $body$ » : le texte des pièces n'y serait pas."
    return None


def load_look(dossier_root: Path) -> Look:
    """The look of the dossier at ``dossier_root`` (:func:`load_settings` then
    :func:`resolve_look`).

    Raises:
        AssemblyRefused: a look file is refused (outside the allowed folders, not what it
            claims to be, a template that reads files); every reason is listed.
        InputError: the settings files themselves are unreadable.
    """
    from tasks.config.settings import load_settings
    from tasks.publish.base import AssemblyRefused

    look, findings = resolve_look(load_settings(dossier_root), dossier_root)
    if findings:
        raise AssemblyRefused(
            f"assemblage impossible : {len(findings)} élément(s) de l'apparence refusé(s) "
            "(cahier.yaml ou cahier-organisation.yaml, section look).",
            findings,
            [
                f"[{f.rule}] {f.location.label() if f.location else ''} : {f.message}"
                for f in findings
            ],
        )
    return look
