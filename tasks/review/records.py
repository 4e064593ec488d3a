"""Committed review records and whether each counts (fail closed): byte-identical to
the blob its referent added in a non-merge commit, signed when the policy asks it; every
other record is reported with the reason (docs/reviews.md, « Ce qui est prouvé »)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.dossier.yamlio import validate_yaml
from tasks.errors import InputError
from tasks.git import Repo

from .gitpaths import _join, _rel, _repo
from .identity import _GOOD_SIGNATURE, _confusion, _person, _same, _signature_args, _who
from .model import REVIEWS_DIR, ReviewRecord
from .referents import _declared_identities


@dataclass
class StoredRecord:
    """A committed review record that counts: its path, content and the commit that
    added it (authored by the reviewer, byte-identical content).

    ``declarative`` lists, in French, why the identity is only declared, not proven
    (unsigned commit, recorded on behalf of the referent, committer other than the
    author); empty when the commit is signed by the reviewer and verified by Git.
    """

    path: str  # path in the repository
    record: ReviewRecord
    commit: str | None = None
    author_email: str | None = None
    author_name: str | None = None
    committer_email: str | None = None
    committer_name: str | None = None
    signer: str | None = None  # signer of the adding commit when its signature verifies
    declarative: list[str] = field(default_factory=list)


@dataclass
class RejectedRecord:
    """A review record present at the revision that does **not** count, and why.

    ``reason`` (French) names the commit and the person: « enregistrement de revue
    modifié après coup par X <x@…> (commit abc1234567) », introduced by a merge, added
    by someone other than the referent (squash, hand commit), renamed, unsigned under a
    signature-required policy.
    """

    path: str
    record: ReviewRecord | None
    reason: str
    commit: str | None = None


def inspect_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> tuple[list[StoredRecord], list[RejectedRecord]]:
    """The review records of the dossier at ``rev`` (default HEAD): those that count,
    oldest first, and those that do not, with the reason.

    Fail closed (docs/reviews.md, « Ce qui est prouvé »): a record counts only if its
    bytes at ``rev`` are exactly a blob that its reviewer, as Git author, *added* under
    the same file name in a non-merge commit of the history of ``rev``. Any later
    edit, a rename of the file, a record introduced by a merge commit, squashed or
    committed by someone else does not count and is reported. A folder renamed with
    ``git mv`` keeps its records (same file name, same bytes). Under the verifier's
    policy ``signature-obligatoire`` (settings ``signatures``), the adding commit must
    also carry a signature that ``git verify-commit`` accepts against the verifier's
    allowed-signers file, made by the reviewer.

    Raises:
        InputError: unknown revision; a record file that is not valid YAML or not a
            review record (French, with the file and line); shallow clone (the history
            needed is missing: « git fetch --unshallow »).
    """
    path = Path(dossier_path)
    repo = _repo(path)
    if repo is None:
        return [], []
    target = rev or "HEAD"
    sha = repo.rev(target)
    if sha is None:
        if rev is None:
            return [], []  # unborn branch: nothing committed yet
        raise InputError(f"révision « {rev} » introuvable.", os.fspath(dossier_path))
    repo.require_full_history("cahier review")
    reviews = _join(_rel(path, repo.top), REVIEWS_DIR)
    entries = [
        (blob, name)
        for _mode, typ, blob, name in repo.tree(sha, reviews)
        if typ == "blob" and name.endswith(".yaml")
    ]
    contents = repo.blobs([b for b, _ in entries]) if entries else []
    sig_args, policy = _signature_args(dossier_path)
    declared = _declared_identities(repo, sha, _rel(path, repo.top))
    adders, added_at = _additions(repo, sha, sig_args)
    records: list[StoredRecord] = []
    rejected: list[RejectedRecord] = []
    for (blob, name), raw_bytes in zip(entries, contents, strict=True):
        rel_name = _join(reviews, name)
        rec = validate_yaml(ReviewRecord, raw_bytes or b"", rel_name)
        found = _judge_record(repo, sha, rel_name, rec, blob, adders, declared, policy)
        if isinstance(found, StoredRecord):
            records.append(found)
        else:
            rejected.append(found)
    dropped = _removed_records(repo, path, sha, entries, adders, added_at, declared)
    rejected += [d for d, _kept in dropped]
    records += [kept for _d, kept in dropped]  # the referent's decision still stands
    records.sort(key=lambda r: (r.record.time, r.path))
    return records, rejected


#: (file name, blob) → the commits that added that blob under that name, newest first,
#: each as (sha, author name, author e-mail, committer name, committer e-mail, %G?, %GS).
_Adders = dict[tuple[str, str], list[tuple[str, ...]]]


def _additions(
    repo: Repo, sha: str, sig_args: list[str]
) -> tuple[_Adders, dict[tuple[str, str], str]]:
    """Every addition of a review record in the non-merge history of ``sha`` (side branches
    included), and for each (file name, blob) the path where it was added."""
    log = repo.text(
        *sig_args,
        "log",
        "--full-history",  # records on a side branch dropped by « merge -s ours » too
        "--no-merges",
        "--no-renames",
        "--diff-filter=A",
        "--raw",
        "--no-abbrev",
        "--format=%x1e%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%G?%x1f%GS",
        sha,
        "--",
        f":(glob)**/{REVIEWS_DIR}/*.yaml",
        f":(glob){REVIEWS_DIR}/*.yaml",
    )
    adders: _Adders = {}
    added_at: dict[tuple[str, str], str] = {}  # (file name, blob) → path where added
    for chunk in log.split("\x1e"):
        if not chunk.strip():
            continue
        head, _, raw = chunk.partition("\n")
        fields = tuple(head.split("\x1f"))
        for line in raw.splitlines():
            if not line.startswith(":"):
                continue
            meta, _, file = line.partition("\t")
            parts = meta.split()
            if len(parts) >= 5 and parts[4] == "A":
                adders.setdefault((file.rsplit("/", 1)[-1], parts[3]), []).append(fields)
                added_at[(file.rsplit("/", 1)[-1], parts[3])] = file
    return adders, added_at


def _judge_record(
    repo: Repo,
    sha: str,
    rel_name: str,
    rec: ReviewRecord,
    blob: str,
    adders: _Adders,
    declared: set[tuple[str, str]],
    policy: str,
) -> StoredRecord | RejectedRecord:
    """Whether the record at ``rel_name`` (blob ``blob`` at ``sha``) counts: added with
    these bytes by its reviewer, not a look-alike identity, signed when the policy asks."""
    candidates = adders.get((rel_name.rsplit("/", 1)[-1], blob), [])
    by_reviewer = [f for f in candidates if _same(f[2], rec.reviewer.email)]
    if not by_reviewer:
        return _why_rejected(repo, sha, rel_name, rec, blob, adders)
    c_first = by_reviewer[-1]
    confused = _confusion(rec.reviewer, declared) or _confusion(
        _person(c_first[1], c_first[2]), declared
    )
    if confused:
        return RejectedRecord(
            rel_name,
            rec,
            f"enregistrement de revue au nom de {_who(rec.reviewer)} non retenu : "
            f"{confused} ; le commit {c_first[0][:10]} de {c_first[1]} <{c_first[2]}> "
            "n'est pas celui d'un référent déclaré sous son adresse exacte ; corrigez la "
            "déclaration dans tender.yaml (referents) et faites approuver de nouveau",
            c_first[0],
        )
    signed = [
        f
        for f in by_reviewer
        if f[5] in _GOOD_SIGNATURE and signer_email(f[6]) == rec.reviewer.email.strip().lower()
    ]
    chosen = (signed or by_reviewer)[-1]  # the oldest addition
    c_sha, an, ae, cn, ce, _sig, signer = chosen
    good = bool(signed)
    if policy == "signature-obligatoire" and not good:
        return RejectedRecord(
            rel_name,
            rec,
            f"enregistrement de revue de {_who(rec.reviewer)} non retenu : le commit "
            f"{c_sha[:10]} n'est pas signé par le référent (ou sa signature n'est pas "
            "reconnue par le fichier allowed_signers du vérificateur) et la politique "
            "de signature est « signature-obligatoire » ; le référent doit approuver "
            "de nouveau avec sa clé (git config user.signingkey)",
            c_sha,
        )
    return StoredRecord(
        rel_name,
        rec,
        c_sha,
        ae,
        an,
        ce,
        cn,
        (signer or "?") if good else None,
        _declarative(repo, sha, rec, chosen, good),
    )


def signer_email(signer: str) -> str:
    """The address of a verified signer as Git prints it (``%GS``): an SSH principal
    (« marie@cd33.fr ») or a GPG user id (« Marie Dupont <marie@cd33.fr> »), lower-case.

    Only an exact match with the referent's address proves the signature is theirs: a
    principal that merely contains it (« annemarie@cd33.fr ») is another person.
    """
    text = signer.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]
    return text.strip().lower()


def _declarative(
    repo: Repo, sha: str, rec: ReviewRecord, added: tuple[str, ...], signed: bool
) -> list[str]:
    """French reasons why the identity of a counted record is declared, not proven
    (unsigned, committer other than the author, reviewed commit out of history)."""
    c_sha, _an, ae, cn, ce = added[:5]
    declarative: list[str] = []
    if not signed:
        declarative.append("commit non signé : identité déclarée, non prouvée")
    if not _same(ce, ae):
        declarative.append(
            f"committer {cn} <{ce}> différent de l'auteur (enregistrée pour son compte, ou "
            "commit réécrit par rebase / cherry-pick : demandez une nouvelle approbation "
            "pour une identité prouvée)"
        )
    if not repo.is_ancestor(rec.commit, sha):
        declarative.append(
            f"le commit examiné {rec.commit[:10]} (champ « commit » de l'enregistrement de "
            f"{_who(rec.reviewer)}, commit {c_sha[:10]}) n'est pas dans l'historique : "
            "historique réécrit (rebase, filter-branch…), le texte approuvé n'est plus "
            "vérifiable ; demandez une nouvelle approbation"
        )
    return declarative


def _removed_records(
    repo: Repo,
    dossier: Path,
    sha: str,
    entries: list[tuple[str, str]],
    adders: _Adders,
    added_at: dict[tuple[str, str], str],
    declared: set[tuple[str, str]],
) -> list[tuple[RejectedRecord, StoredRecord]]:
    """Records of this tender that a referent added in the history of ``sha`` and whose
    bytes are absent at ``sha`` (``git rm``, ``git revert``, ``git merge -s ours``, edited
    in place…), as (report, the original record still counting), unless
    the referent removed them themself: a referent's decision is never silently dropped
    (issue 13). A record renamed or moved with its folder (same name or same bytes) is
    not absent."""
    blobs = {b for b, _n in entries}
    gone = [k for k in adders if k[1] not in blobs]
    if not gone:
        return []
    tender_ids = _tender_ids(repo, dossier, sha, entries)
    if tender_ids is None:
        return []
    out: list[tuple[RejectedRecord, StoredRecord]] = []
    for key, raw in zip(gone, repo.blobs([b for _n, b in gone]), strict=True):
        try:
            rec = ReviewRecord.model_validate(yaml.safe_load(raw or b""))
        except (yaml.YAMLError, ValueError):
            continue
        if rec.tender not in tender_ids:
            continue
        by_reviewer = [f for f in adders[key] if _same(f[2], rec.reviewer.email)]
        if not by_reviewer or _confusion(rec.reviewer, declared):
            continue  # never counted: nothing was dropped
        added, an, ae, cn, ce = by_reviewer[-1][:5]
        old_path = added_at[key]
        last = repo.log("-1", sha, paths=[old_path])
        c = last[0] if last else None
        if c is not None and c.sha != added and _same(c.author_email, rec.reviewer.email):
            continue  # the referent withdrew their own record
        if c is not None and c.sha != added:
            how = f"supprimé par {c.author_name} <{c.author_email}> (commit {c.sha[:10]})"
        else:
            how = (
                "absent de la révision examinée sans suppression visible (fusion « git merge "
                "-s ours », réécriture ou retour en arrière de l'historique)"
            )
        reason = (
            f"enregistrement de revue de {_who(rec.reviewer)} (décision « {rec.decision} », "
            f"commit {added[:10]}) {how} : la décision d'un référent ne peut être retirée "
            "ou modifiée que par lui-même ; sa décision d'origine reste prise en compte"
        )
        out.append(
            (
                RejectedRecord(
                    old_path, rec, reason, c.sha if c is not None and c.sha != added else added
                ),
                StoredRecord(
                    old_path,
                    rec,
                    added,
                    ae,
                    an,
                    ce,
                    cn,
                    None,
                    ["commit non signé : identité déclarée, non prouvée", reason],
                ),
            )
        )
    return out


def _tender_ids(
    repo: Repo, dossier: Path, sha: str, entries: list[tuple[str, str]]
) -> set[str] | None:
    """Tender ids of the records present at ``sha``, else the dossier's tender.yaml id;
    None when neither can be read."""
    tender_ids: set[str] = set()
    for raw in repo.blobs([b for b, _n in entries]) if entries else []:
        try:
            tender_ids.add(str((yaml.safe_load(raw or b"") or {}).get("tender")))
        except (yaml.YAMLError, AttributeError):
            continue
    if not tender_ids:
        rel = _rel(dossier, repo.top)
        try:
            data = yaml.safe_load(repo.blob(sha, _join(rel, "tender.yaml")) or b"") or {}
            tender_ids.add(str(data.get("id")))
        except (yaml.YAMLError, AttributeError):
            return None
    return tender_ids


def _why_rejected(
    repo: Repo,
    rev: str,
    path: str,
    rec: ReviewRecord,
    blob: str,
    adders: _Adders,
) -> RejectedRecord:
    """French reason why the record at ``path`` (blob ``blob``) does not count."""
    last = repo.log("-1", rev, paths=[path])
    c = last[0] if last else None
    who = f"{c.author_name} <{c.author_email}>" if c else "?"
    at = f"commit {c.sha[:10]}" if c else "commit inconnu"
    base = f"enregistrement de revue au nom de {_who(rec.reviewer)} non retenu : "
    if c is not None and c.is_merge:
        reason = (
            f"introduit ou modifié par la fusion (merge) {c.sha[:10]} de {who} ; une revue ne "
            "compte que si le référent l'a lui-même ajoutée dans un commit ordinaire"
        )
    elif c is not None and c.parents and repo.blob(c.parents[0], path) is not None:
        reason = f"enregistrement de revue modifié après coup par {who} ({at})"
    elif any(b == blob for (_n, b) in adders):
        reason = f"enregistrement de revue renommé par {who} ({at})"
    elif c is not None and not _same(c.author_email, rec.reviewer.email):
        reason = (
            f"ajouté par {who} ({at}) et non par le référent lui-même (commit fait à la main, "
            "squash ou rebase d'un autre auteur) ; le référent doit approuver de nouveau"
        )
    else:
        reason = f"enregistrement de revue modifié après coup par {who} ({at})"
    return RejectedRecord(path, rec, base + reason, c.sha if c else None)


def read_records(
    dossier_path: str | os.PathLike[str], rev: str | None = None
) -> list[StoredRecord]:
    """The committed review records that count (see :func:`inspect_records`), oldest
    first (by recorded time).

    Raises:
        InputError: as :func:`inspect_records`.
    """
    return inspect_records(dossier_path, rev)[0]
