"""Shared helpers for the zipped XML formats (DOCX, ODT): bounded inflating and a safe
XML parser.

The zip directory's uncompressed sizes are checked before anything is inflated (a
« zip bomb » is refused, not read); XML is parsed by lxml with entities not resolved, no
DTD loaded and no network access.
"""

from __future__ import annotations

import io
import zipfile

from tasks.errors import InputError

__all__ = ["MAX_MEMBER_BYTES", "open_package", "parse_xml", "read_member"]

#: Largest uncompressed XML part read (bytes); a 300-page piece is ~10 MB of XML.
MAX_MEMBER_BYTES = 100_000_000
#: Largest compression ratio accepted for an XML part.
MAX_RATIO = 200


def open_package(data: bytes, name: str, label: str, kind: str) -> zipfile.ZipFile:
    """The zip archive of a DOCX/ODT piece.

    Raises:
        InputError: an OLE file (password-protected or Word 97-2003), not a zip archive.
    """
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"fichier {label} illisible : il est protégé par mot de passe ou au format "
            "Word 97-2003 ; enregistrez-le sans mot de passe au format .docx ou .odt.",
            name,
        )
    if not data.startswith(b"PK\x03\x04"):
        raise InputError(
            f"fichier {label} illisible (ce n'est pas une archive {kind}) : "
            "vérifiez l'extension ou réenregistrez le document depuis votre traitement de texte.",
            name,
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InputError(
            f"fichier {label} illisible (archive endommagée) : réenregistrez le document "
            "depuis votre traitement de texte.",
            name,
        ) from None


def read_member(
    zf: zipfile.ZipFile, member: str, name: str, label: str, *, required: bool
) -> bytes | None:
    """Bytes of ``member`` after checking its declared size and compression ratio.

    Raises:
        InputError: missing required member, member too large or too compressed,
            damaged member.
    """
    try:
        info = zf.getinfo(member)
    except KeyError:
        if required:
            raise InputError(
                f"fichier {label} illisible (partie « {member} » absente) : réenregistrez "
                "le document depuis votre traitement de texte.",
                name,
            ) from None
        return None
    if info.file_size > MAX_MEMBER_BYTES or (
        info.compress_size
        and info.file_size / info.compress_size > MAX_RATIO
        and info.file_size > 10_000_000
    ):
        raise InputError(
            f"fichier {label} refusé : la partie « {member} » décompressée ferait "
            f"{info.file_size / 1e6:.0f} Mo (maximum {MAX_MEMBER_BYTES / 1e6:.0f} Mo) ; "
            "scindez le document ou retirez les contenus incorporés.",
            name,
        )
    try:
        with zf.open(info) as fh:
            raw = fh.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise InputError(
            f"fichier {label} illisible (partie « {member} » endommagée ou chiffrée) : "
            "réenregistrez le document sans mot de passe depuis votre traitement de texte.",
            name,
        ) from None
    if len(raw) > MAX_MEMBER_BYTES:
        raise InputError(f"fichier {label} refusé : partie « {member} » trop volumineuse.", name)
    return raw


def parse_xml(raw: bytes, member: str, name: str, label: str):
    """Root element of an XML part (entities not resolved, no DTD, no network).

    Raises:
        InputError: malformed XML (French message naming the part and line).
    """
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        raise InputError(
            f"fichier {label} illisible (XML de « {member} » invalide"
            + (f", ligne {line}" if line else "")
            + ") : réenregistrez le document depuis votre traitement de texte.",
            name,
        ) from None
