"""Archives: commit + annotated tag + hash chain, the user's work untouched, crash safety.

The laptops dossier (tenders/2026-CD33-PC-001, with its evaluation) is copied into a
temporary Git repository. The crash tests fork a child that runs ``create_archive`` and
kill it (SIGKILL on its process group, git children included) either at each named step
or after a random delay. After every kill the branch either has not moved (no tag, no
folder, no index entry: no archive) or holds the complete archive commit (its folder, if
present, complete); ``recover`` then finishes it (identical tag, folder, index entries)
and ``verify`` finds it intact; the user's staged and unstaged work is unchanged.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tasks.award.archive import create_archive, recover, sha256, tag_name
from tasks.award.audit import verify
from tasks.errors import ConcurrentWriteError, InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tenders" / "2026-CD33-PC-001"
TID = "2026-CD33-PC-001"
REL = f"tenders/{TID}"
STEPS = ["computed", "blobs", "commit", "tag", "refs", "tagref", "worktree", "index"]

pytestmark = pytest.mark.skipif(
    not (EXAMPLE / "evaluation" / "evaluation.yaml").is_file(), reason="dossier d'exemple absent"
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def make_repo(path: Path, pieces: tuple[str, ...] | None = None) -> Path:
    """A repository with the laptops dossier committed, and the user's own work in progress."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Sophie Dartigues")
    git(path, "config", "user.email", "sophie.dartigues@departement33.example.fr")
    d = path / REL
    shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("archive", "reviews"))
    if pieces is not None:
        for p in (d / "pieces").iterdir():
            if p.name not in pieces:
                p.unlink()
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Dossier et analyse des offres")
    # the user's work in progress: one staged file, then an unstaged change to it
    (path / "notes.md").write_text("brouillon\n", encoding="utf-8")
    git(path, "add", "notes.md")
    (path / "notes.md").write_text("brouillon modifié\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small repository (tender.yaml, RC, evaluation) copied for each crash run."""
    repo = make_repo(tmp_path_factory.mktemp("tpl") / "repo", pieces=("rc.md",))
    # warm the caches (regexes, templates, schema) so that forked children are fast
    warm = tmp_path_factory.mktemp("warm") / "repo"
    shutil.copytree(repo, warm)
    create_archive(warm / REL, draft=True)
    return repo


def test_archive_commit_tag_manifest_and_user_work_untouched(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    status_before = git(repo, "status", "--porcelain")
    head0 = git(repo, "rev-parse", "HEAD")
    info = create_archive(repo / REL, draft=True)
    assert info.numero == 1 and info.path == f"{REL}/archive/1"
    assert git(repo, "rev-parse", "HEAD") == info.commit
    assert git(repo, "rev-parse", f"{info.commit}^") == head0
    # the commit adds exactly the archive files
    changed = git(repo, "show", "--name-only", "--format=", info.commit).splitlines()
    assert sorted(changed) == sorted(f"{REL}/archive/1/{n}" for n in info.files)
    assert {
        "evaluation.json",
        "evaluation.csv",
        "check-report.json",
        "decp.json",
        "reviews.json",
        "manifest.json",
    } == set(info.files)
    # annotated tag on that commit, recording commit and manifest hash
    assert git(repo, "cat-file", "-t", info.tag) == "tag"
    assert git(repo, "rev-parse", f"{info.tag}^{{commit}}") == info.commit
    body = git(repo, "cat-file", "-p", info.tag)
    assert f"Commit: {info.commit}" in body and f"Manifeste-SHA256: {info.manifest_sha256}" in body
    # files on disk match the manifest
    folder = repo / info.path
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert sha256((folder / "manifest.json").read_bytes()) == info.manifest_sha256
    for name, meta in manifest["files"].items():
        assert sha256((folder / name).read_bytes()) == meta["sha256"]
    assert manifest["previous"] is None and manifest["source_commit"] == head0
    assert manifest["summary"] == [
        {"lot": 1, "laureat": "B", "laureatSansCriteresResponsables": "A"}
    ]
    ev = json.loads((folder / "evaluation.json").read_text(encoding="utf-8"))
    assert ev["lots"][0]["criteresResponsablesDecisifs"] is True
    # JSON canonical (decimal point); CSV for French Excel: BOM, « ; », decimal comma
    assert re.search(r'"total": 74\.56', (folder / "evaluation.json").read_text(encoding="utf-8"))
    raw_csv = (folder / "evaluation.csv").read_bytes()
    assert raw_csv.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][:7] == [
        "1",
        "1",
        "B",
        "Reconditionnement Aquitaine SCOP",
        "81234567800021",
        "non",
        "262000,00",
    ]
    assert rows[1][rows[0].index("total")] == "74,56"
    assert manifest["files"]["evaluation.csv"]["sha256"] == sha256(raw_csv)
    assert manifest["draft"] is True  # the test archives with draft=True (pending review)
    decp = json.loads((folder / "decp.json").read_text(encoding="utf-8"))
    assert decp["marches"]["marche"][0]["titulaires"][0]["titulaire"]["id"] == "81234567800021"
    # the user's staged and unstaged work is exactly as before, the archive is clean
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "diff", "--cached", "--name-only") == "notes.md"
    assert (repo / "notes.md").read_text(encoding="utf-8") == "brouillon modifié\n"
    assert verify(repo / REL) == ([1], [])


def test_correction_is_a_new_archive_chained_to_the_previous(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    first = create_archive(repo / REL, draft=True)
    ev = repo / REL / "evaluation" / "evaluation.yaml"
    ev.write_text(
        ev.read_text(encoding="utf-8").replace("prix: 275000", "prix: 270000"), encoding="utf-8"
    )
    with pytest.raises(InputError, match="modification non validée"):
        create_archive(repo / REL, draft=True)
    git(
        repo,
        "commit",
        "-q",
        "-m",
        "Correction du prix de l'offre C",
        "--",
        f"{REL}/evaluation/evaluation.yaml",
    )
    second = create_archive(repo / REL, draft=True)
    assert second.numero == 2 and second.tag == tag_name(TID, 2)
    man = json.loads((repo / second.path / "manifest.json").read_text(encoding="utf-8"))
    assert man["previous"]["manifest_sha256"] == first.manifest_sha256
    assert man["previous"]["commit"] == first.commit
    # archive 1 is unchanged
    assert sha256((repo / first.path / "manifest.json").read_bytes()) == first.manifest_sha256
    assert verify(repo / REL) == ([1, 2], [])


def test_refusals(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    # pending referent reviews (the COST-LCC-01 waiver) block a final archive
    with pytest.raises(InputError, match="revue"):
        create_archive(repo / REL)
    assert git(repo, "tag") == ""
    # detached HEAD
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(InputError, match="HEAD détaché"):
        create_archive(repo / REL, draft=True)
    git(repo, "checkout", "-q", "main")
    # not a git repository
    plain = tmp_path / "plain"
    shutil.copytree(repo / REL, plain)
    with pytest.raises(InputError, match="dépôt Git"):
        create_archive(plain, draft=True)
    # an archive tag moved onto a tree: no new archive on top of it
    create_archive(repo / REL, draft=True)
    git(repo, "tag", "-f", tag_name(TID, 1), "HEAD^{tree}")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(InputError, match=r"ne désigne plus un commit.*audit --verify"):
        create_archive(repo / REL, draft=True)
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "tag") == tag_name(TID, 1)


def test_no_archive_chained_to_an_altered_one(tmp_path: Path):
    """A manifest edited after its archive, or a tag replaced by a lightweight one: the
    next archive is refused (fail closed), nothing committed or tagged."""
    repo = make_repo(tmp_path / "r")
    create_archive(repo / REL, draft=True)
    manifest = repo / REL / "archive" / "1" / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8") + " ", encoding="utf-8")
    git(repo, "commit", "-qam", "retouche")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(InputError, match="ne correspond plus à son étiquette"):
        create_archive(repo / REL, draft=True)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "tag", "-f", tag_name(TID, 1), "HEAD")  # lightweight, same commit
    with pytest.raises(InputError, match="ne correspond plus à son étiquette"):
        create_archive(repo / REL, draft=True)
    assert git(repo, "tag") == tag_name(TID, 1)
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", f"{head}~1")


def _state(repo: Path, head0: str) -> str:
    """'none' or 'committed'; asserts every all-or-nothing invariant."""
    head = git(repo, "rev-parse", "HEAD")
    tags = git(repo, "tag", "--list", "cahier/*").splitlines()
    folder = repo / REL / "archive" / "1"
    leftovers = [p for p in (repo / REL).rglob("*") if ".tmp" in p.name or "cahier-tmp" in str(p)]
    assert not leftovers
    if head == head0:
        assert tags == [], "étiquette sans commit"
        assert not folder.exists(), "dossier d'archive sans commit"
        assert "archive" not in git(repo, "ls-files", "--cached", REL)
        return "none"
    assert git(repo, "rev-parse", "HEAD^") == head0
    assert tags in ([], [tag_name(TID, 1)])  # the tag follows the commit point
    if tags:
        assert git(repo, "rev-parse", f"{tags[0]}^{{commit}}") == head
    if folder.exists():  # present → complete and identical to the commit
        names = git(repo, "ls-tree", "--name-only", f"HEAD:{REL}/archive/1").splitlines()
        assert sorted(p.name for p in folder.iterdir()) == sorted(names)
        for n in names:
            assert (folder / n).read_bytes() == subprocess.run(
                ["git", "show", f"HEAD:{REL}/archive/1/{n}"],
                cwd=repo,
                capture_output=True,
                check=True,
            ).stdout
    return "committed"


def _after_recovery(repo: Path, outcome: str, status0: str) -> None:
    locks = list((repo / ".git").rglob("*.lock"))
    if locks:  # git's own lock left by a kill inside git itself: the user removes it
        return
    tags_before = git(repo, "tag", "--list", "cahier/*")
    body_before = git(repo, "cat-file", "-p", tag_name(TID, 1)) if tags_before else None
    recover(repo / REL)
    if outcome == "committed":
        assert verify(repo / REL) == ([1], [])
        if body_before is not None:  # an existing tag is never replaced
            assert git(repo, "cat-file", "-p", tag_name(TID, 1)) == body_before
    status = git(repo, "status", "--porcelain")
    assert status == status0, status
    assert (repo / "notes.md").read_text(encoding="utf-8") == "brouillon modifié\n"


def _run_child(
    repo: Path, step: str | None = None, delay: float | None = None, trace: Path | None = None
) -> int:
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setpgid(0, 0)

            def on_step(name: str) -> None:
                if trace is not None:
                    with open(trace, "a", encoding="utf-8") as fh:
                        fh.write(f"{name} {time.perf_counter() - t0}\n")
                if name == step:
                    os.killpg(0, signal.SIGKILL)

            create_archive(repo / REL, draft=True, on_step=on_step)
            os._exit(0)
        except BaseException:
            os._exit(3)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    if delay is not None:
        time.sleep(delay)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return status


@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_leaves_no_or_a_complete_archive(
    template: Path, tmp_path: Path, step: str
):
    repo = tmp_path / "r"
    shutil.copytree(template, repo)
    head0 = git(repo, "rev-parse", "HEAD")
    status0 = git(repo, "status", "--porcelain")
    status = _run_child(repo, step=step)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    outcome = _state(repo, head0)
    assert outcome == ("none" if STEPS.index(step) < STEPS.index("refs") else "committed")
    _after_recovery(repo, outcome, status0)


def test_kill_at_random_points_20_times(template: Path, tmp_path: Path):
    # timings of an uninterrupted run in a child, measured (not asserted)
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    trace = tmp_path / "trace.txt"
    assert _run_child(probe, trace=trace) == 0
    marks = dict(ln.split() for ln in trace.read_text(encoding="utf-8").splitlines())
    start, end = float(marks["computed"]), float(marks["index"])
    rng = random.Random(6)
    outcomes: list[str] = []
    for i in range(20):
        repo = tmp_path / f"r{i}"
        shutil.copytree(template, repo)
        head0 = git(repo, "rev-parse", "HEAD")
        status0 = git(repo, "status", "--porcelain")
        # random points over the Git part of the run (after the computation), and a few
        # anywhere in the run
        delay = rng.uniform(start * 0.95, end * 1.05) if i % 4 else rng.uniform(0, end)
        _run_child(repo, delay=delay)
        outcome = _state(repo, head0)
        outcomes.append(outcome)
        _after_recovery(repo, outcome, status0)
    print(f"calcul {start:.3f} s, fin {end:.3f} s ; issues : {outcomes}")


def test_cli_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    repo = make_repo(tmp_path / "r")
    monkeypatch.chdir(repo)
    runner = CliRunner()
    res = runner.invoke(app, ["archive", REL])
    assert res.exit_code == 2 and "revue" in res.stderr
    res = runner.invoke(app, ["archive", REL, "--brouillon"])
    assert res.exit_code == 0, res.output
    assert f"étiquette {tag_name(TID, 1)}" in res.stdout


@pytest.mark.flow
def test_archive_flow_publishes_ranking_and_sensitivity(tmp_path: Path, prefect_harness):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.archive import archive_tender, artifact_key

    repo = make_repo(tmp_path / "r")
    info = archive_tender(str(repo / REL), draft=True)
    assert info.numero == 1

    async def read(key: str):
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    ranking = asyncio.run(read(artifact_key("ranking", TID)))
    sensitivity = asyncio.run(read(artifact_key("sensitivity", TID)))
    assert ranking and ranking[0].type == "table"
    assert "Reconditionnement Aquitaine SCOP" in str(ranking[0].data)
    assert sensitivity and "oui" in str(sensitivity[0].data)
    assert verify(repo / REL) == ([1], [])


# --------------------------------------------------------------------------- draft assembly


def _assembly(repo: Path, draft: bool) -> Path:
    """The assembly manifest ``cahier assemble`` writes in out/<id>/ (outside the dossier)."""
    out = repo / "out" / TID
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "manifest": "cahier-assemblage/1",
        "tender": TID,
        "draft": draft,
        "formats": ["docx", "pdf"],
        "outputs": [{"path": "rc.pdf", "sha256": "0" * 64}],
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path


def test_draft_assembly_refused_unless_the_archive_is_a_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    repo = make_repo(tmp_path / "r")
    head0 = git(repo, "rev-parse", "HEAD")
    _assembly(repo, draft=True)
    import tasks.review.reviews

    monkeypatch.setattr(tasks.review.reviews, "review_gate", lambda *a, **k: [])  # reviews obtained
    with pytest.raises(InputError, match="assemblage est un projet") as exc:
        create_archive(repo / REL)
    assert "Réassemblez sans --draft" in exc.value.render()
    assert exc.value.file.endswith(f"out/{TID}/manifest.json")
    assert git(repo, "rev-parse", "HEAD") == head0 and git(repo, "tag") == ""
    assert not (repo / REL / "archive").exists()
    # as a draft archive: accepted, and said clearly (manifest, commit, tag)
    info = create_archive(repo / REL, draft=True)
    assert info.draft
    man = json.loads((repo / info.path / "manifest.json").read_text(encoding="utf-8"))
    assert man["draft"] is True
    assert any("assemblage projet" in r for r in man["draft_reasons"])
    assembled = json.loads((repo / info.path / "assembly-manifest.json").read_text("utf-8"))
    assert assembled["draft"] is True
    assert "(BROUILLON)" in git(repo, "log", "-1", "--format=%s")
    assert "Brouillon: oui" in git(repo, "cat-file", "-p", info.tag)
    assert verify(repo / REL) == ([1], [])


def test_final_assembly_and_reviews_make_a_final_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    repo = make_repo(tmp_path / "r")
    _assembly(repo, draft=False)
    import tasks.review.reviews

    monkeypatch.setattr(tasks.review.reviews, "review_gate", lambda *a, **k: [])
    info = create_archive(repo / REL)
    man = json.loads((repo / info.path / "manifest.json").read_text(encoding="utf-8"))
    assert (man["draft"], man["draft_reasons"], info.draft) == (False, [], False)
    assert "assembly-manifest.json" in man["files"]
    assert "BROUILLON" not in git(repo, "log", "-1", "--format=%B")
    assert "Brouillon" not in git(repo, "cat-file", "-p", info.tag)
    # an assembly manifest of another tender is refused
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"tender": "2026-DINUM-WEB-002", "draft": False}), "utf-8")
    with pytest.raises(InputError, match="2026-DINUM-WEB-002"):
        create_archive(repo / REL, assembly_manifest=other)


# --------------------------------------------------------------------------- concurrency


def _other_commit(repo: Path) -> str:
    """Another process commits on main (without touching the user's index)."""
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    new = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "Commit concurrent")
    git(repo, "update-ref", "refs/heads/main", new)
    return new


def test_concurrent_commit_at_the_commit_point_leaves_nothing(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    status0 = git(repo, "status", "--porcelain")
    moved: list[str] = []

    def on_step(name: str) -> None:
        if name == "tag":  # just before the branch compare-and-swap
            moved.append(_other_commit(repo))

    with pytest.raises(ConcurrentWriteError) as exc:
        create_archive(repo / REL, draft=True, on_step=on_step)
    msg = exc.value.render()
    assert "au même moment" in msg and "Relancez « cahier archive »" in msg
    assert "fatal" not in msg and "cannot lock" not in msg
    # nothing half-done: branch = the other commit, no tag, no folder, no index entry
    assert git(repo, "rev-parse", "HEAD") == moved[0]
    assert git(repo, "tag") == ""
    assert not (repo / REL / "archive").exists()
    assert git(repo, "status", "--porcelain") == status0
    assert list((repo / ".git" / "cahier-tmp").iterdir()) == []
    # retry: works on the new HEAD
    info = create_archive(repo / REL, draft=True)
    assert git(repo, "rev-parse", f"{info.commit}^") == moved[0]


def test_cli_branch_locked_by_another_git_command(tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from cahier.cli import app

    repo = make_repo(tmp_path / "r")
    head0 = git(repo, "rev-parse", "HEAD")
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("", encoding="utf-8")  # a commit in progress elsewhere
    monkeypatch.chdir(repo)
    res = CliRunner().invoke(app, ["archive", REL, "--brouillon"])
    assert res.exit_code == 2, res.output
    assert "au même moment" in res.stderr and "main.lock" in res.stderr
    assert "fatal" not in res.stderr and "Traceback" not in res.output
    assert git(repo, "rev-parse", "HEAD") == head0 and git(repo, "tag") == ""
    lock.unlink()
    res = CliRunner().invoke(app, ["archive", REL, "--brouillon"])
    assert res.exit_code == 0 and "BROUILLON" in res.stdout


def test_concurrent_run_finishing_our_archive_is_accepted(tmp_path: Path):
    """Run B starts when run A has moved the branch but not yet written tag and folder:
    B's recovery finishes A's archive (and creates no other); A then finds them identical."""
    repo = make_repo(tmp_path / "r")
    finished = []

    def on_step(name: str) -> None:
        if name == "refs":
            finished.append(create_archive(repo / REL, draft=True))  # run B

    info = create_archive(repo / REL, draft=True, on_step=on_step)
    (other,) = finished
    assert other.recovered and (other.numero, other.commit, other.tag) == (
        info.numero,
        info.commit,
        info.tag,
    )
    assert other.manifest_sha256 == info.manifest_sha256 and other.files == info.files
    assert git(repo, "tag") == tag_name(TID, 1)
    assert verify(repo / REL) == ([1], [])
    assert git(repo, "status", "--porcelain", REL) == ""


def test_archive_completed_by_another_run_after_head_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The other run does all its work between our reading of HEAD and our checks: its tag
    is not « an orphan tag, history rewritten? » but a concurrent archive."""
    import tasks.award.archive

    repo = make_repo(tmp_path / "r")
    real_dirty = tasks.award.archive._dirty
    other: list = []

    def dirty(r, rel):
        if not other:
            other.append(None)
            other[0] = create_archive(repo / REL, draft=True)  # the other run, start to end
        return real_dirty(r, rel)

    monkeypatch.setattr(tasks.award.archive, "_dirty", dirty)
    with pytest.raises(ConcurrentWriteError) as exc:
        create_archive(repo / REL, draft=True)
    msg = exc.value.render()
    assert "au même moment" in msg and "historique réécrit" not in msg
    assert other[0].numero == 1 and git(repo, "tag") == tag_name(TID, 1)
    assert verify(repo / REL) == ([1], [])
