"""Identities of reviews: who runs the command, same person or not, look-alike
(confusable) identities refused, the demonstration repository and the signature policy.

Confusables follow UTS #39 (mixed-script and skeleton comparisons, approximated); the
signature policy and allowed-signers file come from the verifier's settings
(:func:`tasks.config.settings.load_settings`), never from the tender repository."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from tasks.dossier.model import Person
from tasks.errors import InputError
from tasks.git import Repo

from .model import REFERENTS_FILE, ROLE_LABELS, ROLES


def committer_identity(path: str | os.PathLike[str]) -> Person | None:
    """The person running the command, as Git will name the committer.

    ``GIT_COMMITTER_NAME`` / ``GIT_COMMITTER_EMAIL`` when set, else ``git config
    user.name`` / ``user.email`` as seen from ``path`` (repository, global, system
    configuration). None when no e-mail is configured or it is not an address.
    """
    probe = Path(path)
    probe = probe if probe.is_dir() else probe.parent
    if not probe.is_dir():
        probe = Path.cwd()

    def config(key: str) -> str:
        repo = Repo(probe, probe, probe)
        return repo.text("config", key, check=False).strip()

    email = os.environ.get("GIT_COMMITTER_EMAIL") or config("user.email")
    name = os.environ.get("GIT_COMMITTER_NAME") or config("user.name")
    if not email:
        return None
    try:
        return Person(nom=name or email, email=email)
    except ValidationError:
        return None


def _same(a: Person | str | None, b: Person | str | None) -> bool:
    """Same person, compared on the e-mail address (case-insensitive)."""
    ea = a.email if isinstance(a, Person) else a
    eb = b.email if isinstance(b, Person) else b
    return bool(ea and eb and ea.strip().lower() == eb.strip().lower())


def _who(p: Person) -> str:
    return f"{p.nom} <{p.email}>"


def _person(name: str, email: str) -> Person:
    try:
        return Person(nom=name or email, email=email)
    except ValidationError:
        return Person.model_construct(nom=name or email or "?", email=email or "?")


def _check_referent(
    role: str, email: str, referents: dict[str, list[Person]], tender: str
) -> Person:
    people = referents.get(role, [])
    for p in people:
        if p.email.lower() == email.strip().lower():
            _refuse_confusable(p, referents, tender)
            return p
    allowed = ", ".join(f"{p.nom} <{p.email}>" for p in people) or "aucune personne déclarée"
    raise InputError(
        f"revue refusée : {email} n'est pas déclaré(e) {ROLE_LABELS[role]} pour la "
        f"consultation {tender}. Personnes autorisées : {allowed}. Ajoutez le référent dans "
        f"tender.yaml (referents: {role}) ou dans {REFERENTS_FILE}, par un commit.",
        "tender.yaml",
    )


def _mixed_script(text: str) -> bool:
    """Whether ``text`` mixes Latin letters with letters of another script (UTS #39,
    « mixed-script confusables »: a Cyrillic « а » in a Latin e-mail)."""
    import unicodedata

    scripts = {
        unicodedata.name(ch, "?").split(" ")[0]
        for ch in unicodedata.normalize("NFC", text)
        if ch.isalpha()
    }
    return "LATIN" in scripts and len(scripts) > 1


def _skeleton(text: str) -> str:
    """A confusable-folded form (NFKC, transliterated to ASCII, case-folded): two
    identities with the same skeleton look alike (approximation of UTS #39 skeletons)."""
    import unicodedata

    from text_unidecode import unidecode

    return unidecode(unicodedata.normalize("NFKC", text)).casefold().strip()


def _confusable_twin(
    p: Person, declared: list[Person] | set[tuple[str, str]]
) -> tuple[str, str] | None:
    """Another declared identity ``(nom, email)`` that ``p`` can be mistaken for: same
    e-mail skeleton (:func:`_skeleton`) under a different address, or same name skeleton
    while ``p`` mixes scripts. Only the identity that is not plain ASCII is blamed: a
    look-alike declared next to a referent does not disqualify the referent (else
    declaring a sock puppet would silence a referent's objections)."""
    if p.email.isascii() and p.nom.isascii():
        return None
    others = {(o.nom, o.email) if isinstance(o, Person) else o for o in declared}
    others = {o for o in others if o[1].lower() != p.email.lower()}
    return next(
        (
            o
            for o in sorted(others)
            if _skeleton(o[1]) == _skeleton(p.email)
            or (_skeleton(o[0]) == _skeleton(p.nom) and _mixed_script(p.email + p.nom))
        ),
        None,
    )


def _confusion(p: Person, declared: list[Person] | set[tuple[str, str]]) -> str | None:
    """French description of why ``p`` is a look-alike identity (mixed-script e-mail, or
    confusable with another declared referent, UTS #39), or None."""
    twin = _confusable_twin(p, declared)
    if twin is None and not _mixed_script(p.email):
        return None
    like = f" et se confond avec {twin[0]} <{twin[1]}>" if twin else ""
    return (
        f"l'identité de référent {p.nom} <{p.email}> mélange des écritures (lettres latines "
        f"et non latines, ex. « а » cyrillique){like}"
    )


def _refuse_confusable(p: Person, referents: dict[str, list[Person]], tender: str) -> None:
    """Refuse a review as a referent whose identity can be mistaken for another declared
    referent's (same name or e-mail after confusable folding, or a mixed-script e-mail).

    Raises:
        InputError: French, naming both identities and tender.yaml.
    """
    why = _confusion(p, [o for people in referents.values() for o in people])
    if why is None:
        return
    raise InputError(
        f"revue refusée : {why} dans la consultation {tender} ; une approbation à ce nom "
        "serait trompeuse. Corrigez la déclaration du référent dans tender.yaml (referents) "
        "par un commit, avec son adresse exacte.",
        "tender.yaml",
    )


#: File in the Git directory of the throwaway repository made by ``cahier demo``; it
#: holds that working tree's absolute path. Review records written there carry the
#: provenance « démonstration (non probante) » and count only in that repository.
DEMO_MARKER = "cahier-demo"
DEMO_LABEL = "démonstration (non probante)"


def is_demo_repository(top: Path | None) -> bool:
    """True when ``top`` is the throwaway repository of ``cahier demo`` (marker in its
    Git directory naming this very working tree; a copy or a clone is not one)."""
    if top is None:
        return False
    try:
        gitdir = Repo.discover(top).git_dir
        marked = (gitdir / DEMO_MARKER).read_text(encoding="utf-8").strip()
    except (OSError, InputError):
        return False
    return marked == os.fspath(Path(top).resolve())


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a French :class:`InputError`."""
    if role not in ROLES:
        raise InputError(f"rôle « {role} » inconnu ; rôles possibles : {', '.join(ROLES)}.")
    return role


_GOOD_SIGNATURE = ("G", "U")


def _signature_args(dossier_path: str | os.PathLike[str]) -> tuple[list[str], str]:
    """``-c`` options pointing Git at the verifier's allowed-signers file (never the
    repository's own configuration), and the signature policy (settings)."""
    from tasks.config.settings import load_settings

    settings = load_settings(Path(dossier_path))
    allowed = settings.signatures.allowed_signers
    target = str(allowed) if allowed is not None else os.devnull
    return ["-c", f"gpg.ssh.allowedSignersFile={target}"], settings.signatures.policy
