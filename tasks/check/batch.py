"""Check every dossier of a repository, with bounded concurrency and bounded memory.

A purchasing body may keep thousands of dossiers in one repository. :func:`check_all`
walks them with a generator (:func:`iter_dossiers`), checks them in ``workers``
processes (the checker is CPU-bound Python: threads would share one core), keeps at
most ``2 × workers`` dossiers in flight, and hands each result to ``on_result`` and to
an optional JSON Lines file as soon as it is known; nothing per dossier stays in
memory, so memory does not grow with the number of dossiers (bench/batch.py
measures it).

Each result line: ``{"dossier", "tender", "errors", "warnings", "infos", "exit_code",
"message", "seconds"}`` — ``exit_code`` 0 clean, 1 error-level findings, 2 unusable
dossier (``message`` holds the French reason, file and line).
"""

from __future__ import annotations

import gc
import heapq
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tasks import collector

__all__ = [
    "BatchSummary",
    "DossierResult",
    "check_all",
    "check_one",
    "count_dossiers",
    "iter_dossiers",
]

TENDER_FILE = "tender.yaml"
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "out"}


@dataclass
class DossierResult:
    """The outcome of checking one dossier (counts only, no findings kept)."""

    dossier: str
    tender: str | None = None
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    exit_code: int = 0
    message: str | None = None
    seconds: float = 0.0


@dataclass
class BatchSummary:
    """Totals of a batch; ``worst``: up to 20 dossiers with the most errors, then unusable."""

    root: str
    rev: str | None = None  # the Git revision read (None: the working tree)
    dossiers: int = 0
    clean: int = 0
    with_errors: int = 0
    unusable: int = 0
    errors: int = 0
    warnings: int = 0
    seconds: float = 0.0
    out: str | None = None
    worst: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 if a dossier was unusable, 1 if one had errors, else 0 (as ``cahier check``)."""
        return 2 if self.unusable else 1 if self.with_errors else 0


def _walk(root: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    if any(e.name == TENDER_FILE and e.is_file() for e in entries):
        yield root
        return  # a dossier does not hold other dossiers
    for e in entries:
        if (
            e.is_dir(follow_symlinks=False)
            and not e.name.startswith(".")
            and (e.name not in _SKIP_DIRS)
        ):
            yield from _walk(Path(e.path))


def iter_dossiers(root: str | os.PathLike[str], *, rev: str | None = None) -> Iterator[str]:
    """Paths of the dossiers (folders holding tender.yaml) under ``root``, sorted, lazily.

    From the working tree, or from the Git revision ``rev`` (``git ls-tree`` streamed, no
    checkout); hidden folders, ``out/`` and virtualenvs are skipped.

    Raises:
        InputError: ``rev`` is unknown or ``root`` is not in a Git repository.
    """
    from tasks.errors import InputError

    base = Path(root)
    if rev is None:
        for p in _walk(base):
            yield os.fspath(p)
        return
    from tasks.git import GitError, GitTimeout, Repo, toplevel

    top = toplevel(base)
    if top is None:
        raise InputError("ce dossier n'est pas dans un dépôt Git (option --rev).", os.fspath(root))
    prefix = Path(base).resolve().relative_to(Path(top).resolve()).as_posix()
    paths = ["--", prefix + "/"] if prefix != "." else []
    try:
        listing = Repo.discover(top).run(
            "ls-tree", "-r", "--name-only", "-z", f"{rev}^{{tree}}", *paths
        )
    except GitTimeout:
        raise
    except GitError as exc:
        raise InputError(
            f"révision « {rev} » introuvable : {exc.detail}", os.fspath(root)
        ) from None
    for raw in listing.split(b"\0"):
        name = raw.decode("utf-8", "surrogateescape")
        if name == TENDER_FILE or name.endswith("/" + TENDER_FILE):
            folder = name[: -len(TENDER_FILE)].rstrip("/") or "."
            yield os.fspath(Path(top) / folder)


def count_dossiers(root: str | os.PathLike[str], *, rev: str | None = None) -> int:
    """Number of dossiers :func:`iter_dossiers` yields (for a progress bar's total)."""
    return sum(1 for _ in iter_dossiers(root, rev=rev))


def check_one(dossier: str, rev: str | None = None, clausier_path: str | None = None) -> dict:
    """Check one dossier; a :class:`DossierResult` as a dict (picklable across processes)."""
    from tasks.clausier.library import load_clausier
    from tasks.dossier.reader import read_dossier
    from tasks.errors import InputError, os_reason

    from .checker import check_dossier

    t0 = time.perf_counter()
    res = DossierResult(dossier=dossier)
    try:
        report = check_dossier(
            read_dossier(dossier, rev=rev), load_clausier(clausier_path, dossier=dossier)
        )
    except InputError as exc:
        res.exit_code, res.message = 2, exc.render()
    except OSError as exc:
        res.exit_code, res.message = 2, f"lecture impossible : {os_reason(exc)}"
    else:
        res.tender = report.tender
        res.errors = report.errors
        res.warnings = report.warnings
        res.infos = len(report.findings) - report.errors - report.warnings
        res.exit_code = report.exit_code
    res.seconds = round(time.perf_counter() - t0, 4)
    return asdict(res)


def _sharded(it: Iterator[str], shard: tuple[int, int]) -> Iterator[str]:
    index, count = shard
    for i, d in enumerate(it):
        if i % count == index:
            yield d


def _check_chunk(dossiers: list[str], rev: str | None, clausier_path: str | None) -> list[dict]:
    """:func:`check_one` over a few dossiers (one round trip to a worker for several)."""
    return [check_one(d, rev, clausier_path) for d in dossiers]


def _chunks(it: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for d in it:
        chunk.append(d)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: Dossiers per task sent to a worker: small enough to keep both workers busy to the
#: end and results streaming, large enough that the round trip is negligible.
CHUNK = 4


class _Sink:
    """Totals, the 20 worst dossiers, the JSON Lines file and the caller's callback."""

    def __init__(self, summary: BatchSummary, out, on_result) -> None:
        from tasks.errors import InputError

        self.summary = summary
        self.on_result = on_result
        self.worst: list[tuple[int, int, str, dict]] = []  # min-heap of the 20 worst
        self.out, self.tmp, self.file = out, None, None
        if out is not None:
            folder = Path(out).parent
            if not folder.is_dir():
                raise InputError("dossier de sortie introuvable.", os.fspath(out))
            fd, self.tmp = tempfile.mkstemp(prefix=f".{Path(out).name}.", dir=folder)
            self.file = os.fdopen(fd, "w", encoding="utf-8")

    def take(self, d: dict) -> None:
        s = self.summary
        s.dossiers += 1
        s.errors += d["errors"]
        s.warnings += d["warnings"]
        if d["exit_code"] == 2:
            s.unusable += 1
        elif d["exit_code"] == 1:
            s.with_errors += 1
        else:
            s.clean += 1
        if d["exit_code"]:
            item = (d["exit_code"], d["errors"], d["dossier"], d)
            if len(self.worst) < 20:
                heapq.heappush(self.worst, item)
            else:
                heapq.heappushpop(self.worst, item)
        if self.file is not None:
            self.file.write(json.dumps(d, ensure_ascii=False) + "\n")
        if self.on_result is not None:
            self.on_result(DossierResult(**d))

    def close(self, ok: bool) -> None:
        """Rename the JSON Lines file into place (``ok``) or remove it: never half-written."""
        if self.file is None:
            return
        self.file.close()
        self.file = None
        if ok:
            os.replace(self.tmp, self.out)  # type: ignore[arg-type]
        else:
            Path(self.tmp).unlink(missing_ok=True)  # type: ignore[arg-type]


def _pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from this (warm) process where the platform forks (Linux, macOS
    with fork available); elsewhere spawned, renewed every 500 tasks.

    The forked children run only :func:`check_one` (no logging, no console, no Prefect
    client): the locks other threads of this process may hold (progress bar, Prefect)
    are never taken in them. Memory stays bounded without renewing the workers: the
    caches they fill are bounded (piece models, word keys, line keys).
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork")
        )
    return ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=500)


def _run_pool(
    dossiers: Iterator[str],
    take: Callable[[dict], None],
    workers: int,
    rev: str | None,
    clausier_path: str | None,
) -> None:
    """Check ``dossiers`` in ``workers`` processes, at most ``2 × workers`` chunks in flight.

    The first dossier is checked here first: it loads the clausier, the lemmatiser and
    the compiled patterns once, and the workers (forked on Linux) start warm with them
    instead of each paying that start-up.
    """
    first = next(dossiers, None)
    if first is None:
        return
    take(check_one(first, rev, clausier_path))
    # what the first check loaded is shared with the forked workers: frozen, the
    # collector of each worker never walks (nor copies) it (tasks/collector.py)
    gc.freeze()
    with _pool(workers) as pool:
        pending: set[Future] = set()
        for chunk in _chunks(dossiers, CHUNK):
            pending.add(pool.submit(_check_chunk, chunk, rev, clausier_path))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    for d in f.result():
                        take(d)
        for f in pending:
            for d in f.result():
                take(d)


def check_all(
    root: str | os.PathLike[str],
    *,
    rev: str | None = None,
    workers: int = 2,
    on_result: Callable[[DossierResult], None] | None = None,
    out: str | os.PathLike[str] | None = None,
    clausier_path: str | None = None,
    shard: tuple[int, int] = (0, 1),
) -> BatchSummary:
    """Check every dossier under ``root``; stream results; return the totals.

    Each dossier's findings are those of ``cahier check`` on it alone (same reader, same
    checker; only the process-wide caches are shared).

    Args:
        root: folder (or repository) holding dossiers at any depth.
        rev: Git revision to read the dossiers from (None: the working tree).
        workers: processes checking in parallel (1: in this process, no pool).
        on_result: called in this process with each :class:`DossierResult`, in
            completion order (progress bars, live tables).
        out: JSON Lines file written as results arrive (through a temporary file
            renamed at the end: never half-written).
        shard: ``(i, n)`` — check only the dossiers whose position modulo ``n`` is
            ``i`` (to spread one repository over several Prefect workers).

    Returns:
        A :class:`BatchSummary` (counts, elapsed seconds, the 20 worst dossiers).

    Raises:
        InputError: ``rev`` unknown; ``out`` folder missing.
    """
    from tasks.clausier.library import pinned

    t0 = time.perf_counter()
    summary = BatchSummary(root=os.fspath(root), rev=rev, out=os.fspath(out) if out else None)
    sink = _Sink(summary, out, on_result)
    ok = False
    try:
        with collector.batch(), pinned():
            dossiers = _sharded(iter_dossiers(root, rev=rev), shard)
            if workers <= 1:
                for d in dossiers:
                    sink.take(check_one(d, rev, clausier_path))
            else:
                _run_pool(dossiers, sink.take, workers, rev, clausier_path)
        ok = True
    finally:
        sink.close(ok)
    summary.worst = [item[3] for item in sorted(sink.worst, reverse=True)]
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
