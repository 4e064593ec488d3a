"""cahier's one Git layer: every Git access of reviews, archives and the audit.

Size: over 600 lines on purpose — one module is the single gate every Git process of
cahier passes through (environment, timeout, error mapping, compare-and-swap, fault
injection); splitting it would let a caller reach Git around those rules.

One interface over the ``git`` command line (:class:`Repo`), with the same rules for
every call:

* a timeout on every call (:data:`TIMEOUT_S`, seconds; :class:`GitTimeout` after it);
* ``LC_ALL=C`` (messages parsed in English), ``GIT_NO_REPLACE_OBJECTS=1`` (``git replace``
  cannot substitute a commit or a tag under the verifier's eyes), grafts ignored
  (``GIT_GRAFT_FILE`` = the null device), no terminal prompt,
  ``core.quotepath=off`` and NUL-separated output (``-z``) wherever paths are listed, so
  that accented paths are read as they are;
* errors mapped in one place to :mod:`tasks.errors` (:class:`GitError` and subclasses,
  French messages);
* one compare-and-swap commit helper (:meth:`Repo.commit_files`) for review records and
  archives: the tree is built in a temporary index (the user's index and working tree
  are not touched), ``commit-tree``, then ``update-ref <ref> <new> <old>``; if the branch
  moved meanwhile, :class:`RefMoved` and nothing changed.

Fault injection (tests only): when ``CAHIER_FAULT_AFTER_STEP=N`` is set, the process
kills itself (SIGKILL, no clean-up) right after its N-th *writing* step — every Git call
that writes an object, a ref or an index, and every working-tree write announced with
:func:`step`. ``tests/test_trust.py`` loops N over every step of ``cahier review
approve`` and ``cahier archive``.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks import errors
from tasks.errors import InputError

__all__ = [
    "FAULT_ENV",
    "TIMEOUT_S",
    "Commit",
    "GitError",
    "GitTimeout",
    "GraftedHistory",
    "NotARepository",
    "RefMoved",
    "Repo",
    "ShallowClone",
    "git_env",
    "open_gitpython",
    "refuse_grafts",
    "refuse_partial_history",
    "step",
]


#: Seconds allowed for one Git call (a whole-history log of a big repository included).
def _configured_timeout() -> float:
    """``git_timeout_s`` of the settings (``CAHIER_GIT_TIMEOUT_S``); 120 s when the
    configuration itself is unreadable (its error is reported by the command)."""
    from tasks.config import load_settings
    from tasks.errors import CahierError

    try:
        return load_settings().git_timeout_s
    except CahierError:
        return 120.0


TIMEOUT_S = _configured_timeout()
#: Environment variable naming the writing step after which the process is SIGKILLed.
FAULT_ENV = "CAHIER_FAULT_AFTER_STEP"

# Replacement objects (« git replace ») would let anyone with write access to the
# repository show the verifier another commit or tag under the same id. Every Git
# process of cahier — ours and GitPython's — inherits this.
os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
# Grafts (``.git/info/grafts``, deprecated) rewrite parents the same way: never read.
os.environ["GIT_GRAFT_FILE"] = os.devnull


def _quotepath_off() -> None:
    """``core.quotepath=off`` for every Git process of cahier, GitPython's included
    (``GIT_CONFIG_COUNT``/``KEY``/``VALUE``, Git ≥ 2.31): paths with accents are printed
    as they are instead of octal escapes that no path comparison matches."""
    try:
        n = int(os.environ.get("GIT_CONFIG_COUNT") or 0)
    except ValueError:
        return
    if any(os.environ.get(f"GIT_CONFIG_KEY_{i}") == "core.quotepath" for i in range(n)):
        return
    os.environ[f"GIT_CONFIG_KEY_{n}"] = "core.quotepath"
    os.environ[f"GIT_CONFIG_VALUE_{n}"] = "off"
    os.environ["GIT_CONFIG_COUNT"] = str(n + 1)


_quotepath_off()

_steps = 0


def step(label: str) -> None:
    """Count one writing step (fault injection point, see module docstring)."""
    global _steps
    limit = os.environ.get(FAULT_ENV)
    if not limit:
        return
    _steps += 1
    if _steps == int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def steps_done() -> int:
    """Writing steps counted so far in this process (for tests)."""
    return _steps


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every Git call (see module docstring)."""
    env = {**os.environ, **(extra or {})}
    env |= {
        "LC_ALL": "C",
        "LANGUAGE": "C",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_GRAFT_FILE": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
    }
    return env


class GitError(errors.GitError):
    """A Git command failed: French message, git's own text in ``detail`` (exit code 2)."""

    def __init__(self, message: str, detail: str = "", args: Sequence[str] = ()):
        self.detail = detail
        self.git_args = list(args)
        super().__init__(message + (f" (git : {detail})" if detail else ""), command=list(args))


class GitTimeout(GitError, errors.TransientError):
    """A Git command exceeded :data:`TIMEOUT_S` (transient: flows retry it)."""


class RefMoved(errors.ConcurrentWriteError):
    """The compare-and-swap of a ref failed: it moved (or is locked) meanwhile; nothing
    changed (transient: a new attempt works on the latest state)."""

    def __init__(self, message: str, detail: str = "", args: Sequence[str] = ()):
        self.detail = detail
        self.git_args = list(args)
        super().__init__(message)


class NotARepository(InputError):
    """The path is not inside a Git working tree (French message, exit code 2)."""


class ShallowClone(InputError):
    """The repository is a shallow clone: history needed to decide is missing."""


class GraftedHistory(InputError):
    """``info/grafts`` rewrites parents: the history read is not the one committed.

    Git honours grafts even with ``GIT_NO_REPLACE_OBJECTS=1`` (git 2.39), so a grafted
    repository is refused before anything is decided about reviews or archives.
    """


def open_gitpython(path: str | os.PathLike[str]) -> Any:
    """GitPython's view of the repository holding ``path`` (``search_parent_directories``),
    for the object reads of the archive and the audit — opened here only, so that its
    Git processes follow this layer's rules: this module's environment (``LC_ALL=C``,
    ``GIT_NO_REPLACE_OBJECTS=1``, ``core.quotepath=off``, set for the whole process above)
    and the same timeout on every call (:data:`TIMEOUT_S`, GitPython's
    ``kill_after_timeout``; the long-lived ``cat-file --batch`` readers excepted).

    Raises:
        git.InvalidGitRepositoryError, git.NoSuchPathError: not in a repository (callers
            turn them into French :class:`~tasks.errors.InputError`).
    """
    return _timed_repo_class()(os.fspath(path), search_parent_directories=True)


@functools.cache
def _timed_repo_class() -> type:
    import git

    class _TimedGit(git.cmd.Git):
        def execute(self, command: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("kill_after_timeout", TIMEOUT_S)
            return super().execute(command, *args, **kwargs)

    class _TimedRepo(git.Repo):
        GitCommandWrapperType = _TimedGit

    return _TimedRepo


def refuse_grafts(common_dir: str | os.PathLike[str], command: str) -> None:
    """Refuse a repository whose ``info/grafts`` file exists (French, naming the file).

    ``common_dir`` is the Git common directory (``git rev-parse --git-common-dir``).

    Raises:
        GraftedHistory: ``<common_dir>/info/grafts`` exists.
    """
    grafts = Path(common_dir) / "info" / "grafts"
    if grafts.exists():
        raise GraftedHistory(
            "fichier de greffes Git présent : il remplace les parents de commits et masque "
            f"l'historique réel (qui a modifié, approuvé ou archivé quoi) ; {command} refuse "
            f"de décider sur un historique greffé ; supprimez {grafts} (et remettez "
            "l'historique d'origine) puis recommencez.",
            str(grafts),
        )


def refuse_partial_history(
    common_dir: str | os.PathLike[str], command: str, top: str | os.PathLike[str]
) -> None:
    """Refuse a history that is not the one committed: grafts, or a shallow clone.

    A shallow clone (``git clone --depth``, non-empty ``<common_dir>/shallow``, as
    ``git rev-parse --is-shallow-repository`` reads it) lacks the commits and tags that
    prove who approved and archived what: nothing can be decided on it (fail closed).

    Raises:
        GraftedHistory: ``info/grafts`` rewrites parents (see :func:`refuse_grafts`).
        ShallowClone: the clone is shallow (the French message names the fetch to run).
    """
    refuse_grafts(common_dir, command)
    shallow = Path(common_dir) / "shallow"
    if shallow.is_file() and shallow.stat().st_size > 0:
        raise ShallowClone(
            f"dépôt cloné sans son historique complet (clone superficiel, --depth) : "
            f"{command} a besoin de tout l'historique pour vérifier qui a approuvé et "
            "archivé quoi ; exécutez « git fetch --unshallow --tags » puis recommencez.",
            os.fspath(top),
        )


@dataclass(frozen=True)
class Commit:
    """A commit as the audit and the reviews need it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    subject: str = ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


_COMMIT_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s"


def _parse_commit(line: str) -> Commit:
    sha, parents, an, ae, ad, cn, ce, cd, subject = line.split("\x1f", 8)
    return Commit(sha, tuple(parents.split()), an, ae, ad, cn, ce, cd, subject)


class Repo:
    """A Git working tree (``top``) and its Git directory.

    Build it with :meth:`discover`. Every method runs ``git`` with the rules of the
    module docstring; ``write=True`` calls count as fault-injection steps.
    """

    def __init__(self, top: Path, git_dir: Path, common_dir: Path):
        self.top = top
        self.git_dir = git_dir
        self.common_dir = common_dir

    # ------------------------------------------------------------------ construction

    @classmethod
    def discover(cls, path: str | os.PathLike[str], *, why: str = "") -> Repo:
        """The working tree holding ``path``.

        Raises:
            NotARepository: not in a Git working tree (bare repositories included);
                ``why`` completes the French message (what the command needs Git for).
        """
        p = Path(path)
        probe = p if p.is_dir() else p.parent
        if not probe.is_dir():
            raise InputError("dossier introuvable.", os.fspath(path))
        proc = _run(
            ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
            probe,
            check=False,
        )
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if proc.returncode != 0 or len(lines) < 3 or not lines[0]:
            raise NotARepository(
                "ce dossier n'est pas dans un dépôt Git"
                + (f" : {why}" if why else "")
                + " ; initialisez le dépôt (git init, git add, git commit) ou placez le "
                "dossier dans un dépôt.",
                os.fspath(path),
            )
        top = Path(lines[0]).resolve()
        common = Path(lines[2])
        if not common.is_absolute():
            common = (probe / common).resolve()
        return cls(top, Path(lines[1]), common)

    def rel(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the working tree (POSIX form, ``""`` for the top).

        Raises:
            InputError: ``path`` is outside the working tree.
        """
        try:
            rel = Path(path).resolve().relative_to(self.top).as_posix()
        except ValueError:
            raise InputError(
                f"le dossier est en dehors du dépôt Git {self.top}.", os.fspath(path)
            ) from None
        return "" if rel == "." else rel

    # ------------------------------------------------------------------ calls

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        write: bool = False,
        timeout: float | None = None,
    ) -> bytes:
        """Run ``git ARGS`` in the working tree; stdout as bytes.

        Raises:
            GitError: non-zero exit (when ``check``), with git's message in ``detail``.
            GitTimeout: the call exceeded its timeout.
        """
        proc = _run(list(args), self.top, input=input, env=env, check=check, timeout=timeout)
        if write:
            step("git " + args[0])
        return proc.stdout

    def text(self, *args: str, **kw) -> str:
        """:meth:`run`, decoded as UTF-8 (invalid bytes kept as escapes)."""
        return self.run(*args, **kw).decode("utf-8", "surrogateescape")

    def ok(self, *args: str) -> bool:
        """Whether ``git ARGS`` exits with 0 (no exception on failure)."""
        return _run(list(args), self.top, check=False).returncode == 0

    # ------------------------------------------------------------------ reading

    def rev(self, rev: str) -> str | None:
        """Full id of the commit ``rev`` names, or None."""
        proc = _run(["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], self.top, check=False)
        out = proc.stdout.decode().strip()
        return out if proc.returncode == 0 and out else None

    def ref(self, ref: str) -> str | None:
        """Value of ``ref`` (any object), or None."""
        proc = _run(["rev-parse", "--verify", "-q", ref], self.top, check=False)
        out = proc.stdout.decode().strip()
        return out if proc.returncode == 0 and out else None

    def branch(self) -> str | None:
        """``refs/heads/<name>`` HEAD points to, or None when HEAD is detached."""
        proc = _run(["symbolic-ref", "-q", "HEAD"], self.top, check=False)
        out = proc.stdout.decode().strip()
        return out if proc.returncode == 0 and out else None

    def is_shallow(self) -> bool:
        """Whether this clone lacks part of its history (``git clone --depth``)."""
        return self.text("rev-parse", "--is-shallow-repository").strip() == "true"

    def require_full_history(self, command: str) -> None:
        """Refuse to decide on a shallow clone (French, naming the command to run).

        Raises:
            ShallowClone: the repository is shallow.
            GraftedHistory: ``info/grafts`` rewrites parents (see ``refuse_grafts``).
        """
        refuse_partial_history(
            self.text("rev-parse", "--path-format=absolute", "--git-common-dir").strip(),
            command,
            self.top,
        )

    def deepen(self) -> bool:
        """Fetch the missing history of a shallow clone (workers); True when it was shallow.

        Raises:
            GitError: the fetch failed (no remote, network).
        """
        if not self.is_shallow():
            return False
        self.run("fetch", "--quiet", "--unshallow", "--tags", timeout=max(TIMEOUT_S, 600))
        return True

    def blob(self, rev: str, path: str) -> bytes | None:
        """Content of ``path`` at ``rev`` (a blob), or None."""
        proc = _run(["cat-file", "blob", f"{rev}:{path}"], self.top, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """Contents of ``<rev>:<path>`` or ``<sha>`` specs in one ``cat-file --batch``."""
        if not specs:
            return []
        out = self.run("cat-file", "--batch", input="".join(s + "\n" for s in specs).encode())
        res: list[bytes | None] = []
        pos = 0
        for _ in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) < 3 or header[-1] == b"missing":
                res.append(None)
                pos = end + 1
                continue
            size = int(header[2])
            res.append(out[end + 1 : end + 1 + size])
            pos = end + 1 + size + 1
        return res

    def tree(
        self, rev: str, path: str = "", *, recursive: bool = False
    ) -> list[tuple[str, str, str, str]]:
        """Entries ``(mode, type, sha, path)`` of the tree at ``rev:path`` (NUL-separated
        listing: accented names read as they are). Empty when absent."""
        spec = f"{rev}:{path}" if path else f"{rev}^{{tree}}"
        args = ["ls-tree", "-z", *(["-r"] if recursive else []), spec]
        proc = _run(args, self.top, check=False)
        if proc.returncode != 0:
            return []
        out = []
        for rec in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if not rec:
                continue
            meta, _, name = rec.partition("\t")
            mode, typ, sha = meta.split()
            out.append((mode, typ, sha, name))
        return out

    def log(self, *args: str, paths: Iterable[str] = ()) -> list[Commit]:
        """Commits of ``git log ARGS -- PATHS`` (newest first)."""
        paths = list(paths)
        out = self.text(
            "log", f"--format={_COMMIT_FORMAT}", "-z", *args, *(["--", *paths] if paths else [])
        )
        return [_parse_commit(rec) for rec in out.split("\0") if rec]

    def commit(self, rev: str) -> Commit | None:
        """One commit, or None."""
        sha = self.rev(rev)
        if sha is None:
            return None
        return self.log("-1", "--no-walk", sha)[0]

    def message(self, rev: str) -> str:
        """Full message of commit ``rev``."""
        return self.text("log", "-1", "--format=%B", rev)

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether ``a`` is an ancestor of (or equal to) ``b``."""
        return self.ok("merge-base", "--is-ancestor", a, b)

    def index_entries(self, prefix: str = "") -> dict[str, str]:
        """Path → blob id staged in the user's index (under ``prefix``)."""
        args = ["ls-files", "-z", "--stage"]
        if prefix:
            args += ["--", prefix]
        out = self.text(*args)
        res = {}
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, _, path = rec.partition("\t")
            res[path] = meta.split()[1]
        return res

    # ------------------------------------------------------------------ writing

    def hash_object(self, data: bytes) -> str:
        """Write ``data`` as a blob (unreferenced until committed); its id."""
        return self.text("hash-object", "-w", "--stdin", input=data, write=True).strip()

    def build_commit(
        self,
        parent: str,
        files: dict[str, str],
        message: str,
        *,
        env: dict[str, str] | None = None,
        sign: bool = False,
    ) -> str:
        """A commit object: ``parent``'s tree plus ``files`` (path → blob id), nothing
        moved. The tree is built in a temporary index under the Git directory.

        Raises:
            GitError: Git refused (signing failure included: French message).
        """
        index = self.git_dir / f"cahier-index-{uuid.uuid4().hex}"
        ienv = {**(env or {}), "GIT_INDEX_FILE": str(index)}
        try:
            self.run("read-tree", parent, env=ienv, write=True)
            args: list[str] = []
            for path, blob in files.items():
                args += ["--cacheinfo", f"100644,{blob},{path}"]
            self.run("update-index", "--add", *args, env=ienv, write=True)
            tree = self.text("write-tree", env=ienv, write=True).strip()
        finally:
            index.unlink(missing_ok=True)
        try:
            return self.text(
                "commit-tree",
                tree,
                "-p",
                parent,
                *(["-S"] if sign else []),
                "-F",
                "-",
                input=message.encode("utf-8"),
                env=env,
                write=True,
            ).strip()
        except GitError as exc:
            if not sign:
                raise
            raise GitError(
                "la signature du commit a échoué : vérifiez user.signingkey (clé SSH ou GPG) "
                "et gpg.format",
                exc.detail,
                exc.git_args,
            ) from None

    def swap_ref(self, ref: str, new: str, old: str | None, reason: str = "cahier") -> None:
        """Move ``ref`` from ``old`` to ``new`` atomically (``old`` None: create it).

        Raises:
            RefMoved: the ref moved or is locked meanwhile (nothing changed).
        """
        zero = "0" * 40
        cmd = f"update {ref} {new} {old or zero}\n"
        try:
            self.run("update-ref", "-m", reason, "--stdin", input=cmd.encode(), write=True)
        except GitError as exc:
            raise RefMoved(
                f"la référence {ref.removeprefix('refs/heads/')} a changé ou est verrouillée "
                "pendant l'écriture : rien n'a été fait",
                exc.detail,
                exc.git_args,
            ) from None

    def commit_files(
        self, ref: str, old: str, files: dict[str, str], message: str, **options: Any
    ) -> str:
        """The compare-and-swap commit: ``old``'s tree plus ``files`` (path → blob id)
        committed on ``ref`` only if ``ref`` still equals ``old``; the new commit id.
        ``options``: the keywords of :meth:`build_commit` (``env``, ``sign``).

        Raises:
            RefMoved: ``ref`` moved meanwhile (the commit object stays unreferenced).
            GitError: Git refused.
        """
        new = self.build_commit(old, files, message, **options)
        self.swap_ref(ref, new, old)
        return new

    def add_to_index(self, entries: dict[str, str], *, attempts: int = 200) -> None:
        """Stage ``path → blob`` entries in the user's index, nothing else (retried while
        another command holds ``index.lock``).

        Raises:
            GitError: the index stayed locked or Git refused.
        """
        import time

        args: list[str] = []
        for path, blob in entries.items():
            args += ["--cacheinfo", f"100644,{blob},{path}"]
        if not args:
            return
        for attempt in range(attempts):
            try:
                self.run("update-index", "--add", *args, write=True)
                return
            except GitError as exc:
                if "index.lock" not in exc.detail or attempt == attempts - 1:
                    raise
                time.sleep(0.005 * min(attempt + 1, 20))


def _run(
    args: list[str],
    cwd: Path,
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """The one place where ``git`` is started; maps failures to :class:`GitError`."""
    full = ["git", "-c", "core.quotepath=off", "-c", "log.showSignature=false", *args]
    try:
        proc = subprocess.run(
            full,
            cwd=cwd,
            input=input,
            capture_output=True,
            env=git_env(env),
            timeout=timeout or TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitTimeout(
            f"Git n'a pas répondu en {timeout or TIMEOUT_S:.0f} s (git {args[0]}) : dépôt "
            "verrouillé ou très volumineux ; réessayez",
            args=args,
        ) from None
    except FileNotFoundError:
        raise GitError(
            "la commande git est introuvable : installez Git (apt-get install git)"
        ) from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"opération Git refusée (git {args[0]})", detail, args)
    return proc


def temp_dir(repo: Repo) -> Path:
    """``.git/cahier-tmp`` (outside the working tree), created when absent."""
    root = repo.git_dir / "cahier-tmp"
    root.mkdir(exist_ok=True)
    return root


# ------------------------------------------------------------------ one-off calls


def git_text(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> str:
    """``git ARGS`` run in ``cwd`` (any folder of a working tree) with this module's rules,
    for callers with no :class:`Repo` at hand (flows, one-off reads); stdout decoded as
    UTF-8 (invalid bytes kept as escapes). ``env``: extra variables (author, committer).

    Raises:
        GitError: non-zero exit (when ``check``), Git missing; GitTimeout.
    """
    return _run(list(args), Path(cwd), env=env, check=check).stdout.decode(
        "utf-8", "surrogateescape"
    )


def toplevel(path: str | os.PathLike[str]) -> Path | None:
    """The top folder of the Git working tree holding the folder ``path``, or None (not a
    folder, not in Git)."""
    if not Path(path).is_dir():
        return None
    out = git_text(["rev-parse", "--show-toplevel"], path, check=False).strip()
    return Path(out) if out else None
