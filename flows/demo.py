"""``cahier demo``: the whole life of the bundled example, in a throwaway Git repository.

check → review requests → the example's referents answer → assembly → evaluation,
archive and DECP → ``audit --verify``, on the Prefect server of the command (the
embedded one by default), each step a real flow run:

1. the example dossier (``tenders/2026-CD33-PC-001``) is copied into a new Git
   repository in a temporary folder (or the folder given), committed by the buyer
   « Acheteur (démonstration) », and marked as a demonstration repository
   (:data:`tasks.review.reviews.DEMO_MARKER` in its Git directory);
2. ``check-tender`` checks the committed dossier;
3. ``request-reviews`` starts one ``await-review`` run per role, which **pauses** with
   its typed form; the demonstration answers each form as the role's first declared
   referent, through :func:`prefect.flow_runs.resume_flow_run` — the review run
   itself records the decision in Git (:func:`tasks.review.reviews.record_review`),
   with the provenance « démonstration (non probante) »: it counts only in that
   repository (``cahier review status`` and ``cahier audit`` say so);
4. ``assemble-tender`` writes DOCX, ODT, HTML, PDF/UA and the bidder guide;
5. ``archive-tender`` evaluates the offers, archives them (commit and tag) with the DECP
   record;
6. :func:`tasks.award.audit.verify` recomputes every hash of the archive chain.

Each step reports its wall time (seconds) and where its outputs are (:class:`Step`).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import InputError
from tasks.git import git_text

__all__ = [
    "DEMO_TENDER",
    "DemoResult",
    "Step",
    "example_dossier",
    "make_demo_repository",
    "run_demo",
]

DEMO_TENDER = "2026-CD33-PC-001"
BUYER = ("Acheteur (démonstration)", "acheteur.demo@departement33.example.fr")


@dataclass
class Step:
    """One step of the demonstration: French title, wall time (s), French details
    (output locations, counts)."""

    title: str
    seconds: float
    details: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    """Where the demonstration left its repository and outputs, and its steps."""

    folder: Path
    dossier: Path
    steps: list[Step]
    outputs: dict[str, Path]


def example_dossier() -> Path:
    """The bundled example ``tenders/2026-CD33-PC-001`` of the cahier source tree.

    Raises:
        InputError: the example is missing (cahier installed without its sources).
    """
    src = Path(__file__).resolve().parents[1] / "tenders" / DEMO_TENDER
    if not (src / "tender.yaml").is_file():
        raise InputError(
            "dossier d'exemple introuvable : « cahier demo » s'exécute depuis un clone du "
            "dépôt cahier (pip install -e .).",
            os.fspath(src),
        )
    return src


def _git(args: list[str], cwd: Path) -> str:
    """``git ARGS`` in the demonstration repository, committed as the demo buyer."""
    author = {
        "GIT_AUTHOR_NAME": BUYER[0],
        "GIT_AUTHOR_EMAIL": BUYER[1],
        "GIT_COMMITTER_NAME": BUYER[0],
        "GIT_COMMITTER_EMAIL": BUYER[1],
    }
    return git_text(args, cwd, env=author)


def check_demo_folder(folder: Path) -> None:
    """Refuse a demonstration folder that exists and is not empty (checked before the
    Prefect server starts, and again when the repository is made).

    Raises:
        InputError: ``folder`` exists and is not an empty folder.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(
            "le dossier de démonstration doit être absent ou vide (rien n'a été écrit) : "
            "choisissez un autre dossier avec --dossier.",
            os.fspath(folder),
        )


def make_demo_repository(folder: Path) -> Path:
    """Create the throwaway repository in ``folder`` (absent or empty); returns the dossier.

    Raises:
        InputError: ``folder`` exists and is not empty (nothing is written then).
    """
    from tasks.review.reviews import DEMO_MARKER

    check_demo_folder(folder)
    repo = folder / "depot"
    dossier = repo / "tenders" / DEMO_TENDER
    shutil.copytree(
        example_dossier(),
        dossier,
        ignore=shutil.ignore_patterns("reviews", "archive", "out", ".*"),
    )
    _git(["init", "-q", "-b", "main"], repo)
    for key, value in (
        ("user.name", BUYER[0]),
        ("user.email", BUYER[1]),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        _git(["config", key, value], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-q", "-m", f"Dossier de consultation {DEMO_TENDER} (démonstration)"], repo)
    gitdir = Path(_git(["rev-parse", "--absolute-git-dir"], repo).strip())
    (gitdir / DEMO_MARKER).write_text(os.fspath(repo.resolve()) + "\n", encoding="utf-8")
    return dossier


def _answer_reviews(
    dossier: Path, tender_id: str, referents: dict, done: threading.Event, answered: list[str]
) -> None:
    """Answer every paused ``await-review`` run as the role's first declared referent."""
    from prefect.flow_runs import resume_flow_run

    from flows.review import find_waiting_runs

    seen: set[tuple[str, str]] = set()
    while not done.is_set():
        for run in asyncio.run(find_waiting_runs(tender_id)):
            key = (str(run.id), str(run.state.state_details.pause_key))
            role = str(run.parameters.get("role"))
            if key in seen or not run.state.state_details.run_input_keyset:
                continue
            person = (referents.get(role) or [None])[0]
            if person is None:
                continue
            seen.add(key)
            resume_flow_run(
                run.id,
                run_input={
                    "decision": "approve",
                    "comment": "Démonstration : éléments examinés (décision non probante).",
                    "nom": person.nom,
                    "email": person.email,
                },
            )
            answered.append(role)
        done.wait(0.5)


def _reviews(dossier: Path, head: str, tender, timeout: float) -> tuple[dict, list[str]]:
    from flows.review import request_reviews

    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["result"] = asyncio.run(
                request_reviews(os.fspath(dossier), rev=head, poll_seconds=1, timeout_days=1)
            )
        except BaseException as exc:  # surfaced below, in French
            box["error"] = exc

    worker = threading.Thread(target=lambda: ctx.run(target), daemon=True)
    worker.start()
    done = threading.Event()
    answered: list[str] = []
    answerer = threading.Thread(
        target=lambda: contextvars.copy_context().run(
            _answer_reviews, dossier, tender.id, tender.referents, done, answered
        ),
        daemon=True,
    )
    answerer.start()
    worker.join(timeout)
    done.set()
    answerer.join(10)
    if worker.is_alive():
        raise InputError(
            f"les revues de démonstration n'ont pas abouti en {timeout:g} s (machine "
            "chargée ?) : relancez « cahier demo »."
        )
    if "error" in box:
        err = box["error"]
        if isinstance(err, InputError):
            raise err
        raise InputError(f"revues de démonstration interrompues ({type(err).__name__}).")
    return box["result"], answered


def run_demo(
    folder: Path | None = None,
    *,
    on_step: Callable[[Step], None] | None = None,
    review_timeout: float = 300,
) -> DemoResult:
    """Run the whole demonstration (see the module docstring); Prefect must be selected
    (:func:`flows.server.prefect_session`) by the caller.

    Args:
        folder: where to keep the throwaway repository and outputs (absent or empty);
            default: a new temporary folder.
        on_step: called after each step (the CLI prints it).

    Raises:
        InputError: a step failed (French message naming the step's file or field).
    """
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="cahier-demo-"))
    steps: list[Step] = []
    outputs: dict[str, Path] = {}

    def step(fn: Callable[..., tuple[str, list[str], Any]], *args: Any) -> Any:
        t = time.monotonic()
        title, details, value = fn(*args)
        steps.append(Step(title, time.monotonic() - t, details))
        if on_step:
            on_step(steps[-1])
        return value

    dossier, head = step(_step_repository, base)
    step(_step_check, dossier, head)
    tender, incomplete = step(_step_reviews, dossier, head, review_timeout)
    if incomplete:
        raise InputError("revues de démonstration incomplètes : " + incomplete[:500])
    step(_step_assembly, base, dossier, tender.id, outputs)
    step(_step_archive, dossier, outputs)
    step(_step_audit, dossier)
    return DemoResult(base, dossier, steps, outputs)


def _step_repository(base: Path) -> tuple[str, list[str], tuple[Path, str]]:
    """Step 1: the throwaway repository; value: (dossier, head commit)."""
    dossier = make_demo_repository(base)
    repo = dossier.parents[1]
    head = _git(["rev-parse", "HEAD"], repo).strip()
    return (
        "Dépôt Git jetable créé, dossier d'exemple commité par l'acheteur",
        [f"dépôt : {repo}", f"commit : {head[:10]}"],
        (dossier, head),
    )


def _step_check(dossier: Path, head: str) -> tuple[str, list[str], None]:
    """Step 2: ``check-tender`` at the buyer's commit; an error stops the demonstration."""
    from flows.check import check_tender

    report = check_tender(os.fspath(dossier), rev=head)
    if report.errors:
        raise InputError(
            f"le dossier d'exemple a {report.errors} erreur(s) au contrôle : lancez « cahier "
            f"check {dossier} » pour les voir.",
            os.fspath(dossier),
        )
    details = [f"{report.errors} erreur(s), {report.warnings} avertissement(s)"]
    return "Contrôle du dossier (clausier, règles)", details, None


def _step_reviews(
    dossier: Path, head: str, review_timeout: float
) -> tuple[str, list[str], tuple[Any, str]]:
    """Step 3: review runs answered as the referents; value: (tender, French reasons of
    the items still not approved — empty when all are)."""
    from tasks.dossier.reader import read_dossier
    from tasks.review.reviews import review_status

    tender = read_dossier(os.fspath(dossier)).tender
    result, answered = _reviews(dossier, head, tender, review_timeout)
    entries = review_status(os.fspath(dossier))
    approved = sum(1 for e in entries if e.status == "approved")
    roles = result.get("roles", [])
    people = {role: ", ".join(p.nom for p in tender.referents.get(role, [])[:1]) for role in roles}
    details = [
        f"{len(roles)} revue(s) : " + ", ".join(f"{r} ({people[r]})" for r in roles),
        f"{len(answered)} formulaire(s) de revue rempli(s) au nom des référents déclarés",
        f"{approved}/{len(entries)} élément(s) approuvé(s) — provenance « démonstration "
        "(non probante) » : ne compte que dans ce dépôt",
    ]
    incomplete = " ; ".join(e.message() for e in entries if e.status != "approved")
    return (
        "Revues demandées aux référents ; réponses de démonstration enregistrées dans Git",
        details,
        (tender, incomplete),
    )


def _step_assembly(
    base: Path, dossier: Path, tender_id: str, outputs: dict[str, Path]
) -> tuple[str, list[str], None]:
    """Step 4: ``assemble-tender`` under ``base/out``; records the PDF, guide and folder."""
    from flows.assemble import assemble_tender

    out_dir = base / "out" / tender_id
    here = os.getcwd()
    os.chdir(base)  # assembly writes under the working directory only
    try:
        assembled = assemble_tender(os.fspath(dossier), out=os.fspath(out_dir))
    finally:
        os.chdir(here)
    pdfs = sorted(p for p in out_dir.glob("*.pdf"))
    guide = out_dir / "guide-de-reponse.pdf"
    rc = out_dir / "rc.pdf"
    outputs["pdf"] = rc if rc.is_file() else (pdfs[0] if pdfs else out_dir)
    outputs["guide"] = guide if guide.is_file() else out_dir
    outputs["assemblage"] = out_dir
    return (
        "Assemblage : DOCX, ODT, HTML, PDF/UA et PDF/A, guide de réponse",
        [
            f"{len(assembled.outputs)} fichier(s) dans {out_dir}",
            f"PDF accessible (PDF/UA-1) : {outputs['pdf']}",
            f"guide de réponse des candidats : {outputs['guide']}",
        ],
        None,
    )


def _step_archive(dossier: Path, outputs: dict[str, Path]) -> tuple[str, list[str], None]:
    """Step 5: ``archive-tender`` (evaluation, archive commit and tag, DECP)."""
    from flows.archive import archive_tender

    manifest = outputs["assemblage"] / "manifest.json"
    info = archive_tender(os.fspath(dossier), assembly=os.fspath(manifest))
    archive_dir = dossier / "archive" / str(info.numero)
    outputs["archive"] = archive_dir
    outputs["decp"] = archive_dir / "decp.json"
    return (
        "Évaluation des offres, archive chaînée (commit et étiquette) et DECP",
        [
            f"archive n° {info.numero} : {archive_dir} (étiquette {info.tag})",
            f"données essentielles DECP : {outputs['decp']}",
        ],
        None,
    )


def _step_audit(dossier: Path) -> tuple[str, list[str], None]:
    """Step 6: ``audit --verify`` of the archive chain."""
    from tasks.award.audit import verify

    numbers, problems = verify(os.fspath(dossier))
    if problems:
        raise InputError(
            "audit --verify : " + "; ".join(str(p) for p in problems[:3]), os.fspath(dossier)
        )
    return (
        "Audit : empreintes, chaîne et étiquettes vérifiées (audit --verify)",
        [
            f"{len(numbers)} archive(s) vérifiée(s) : intactes dans le dépôt ; non prouvé "
            "contre une réécriture complète (aucun témoin hors du dépôt dans une démonstration)"
        ],
        None,
    )
