"""The pure plan of an archive (tasks.award.archive_plan): no Git, no clock."""

from __future__ import annotations

import json

from tasks.award.archive_plan import (
    MANIFEST,
    ArchiveSpec,
    draft_reasons,
    is_archive_name,
    next_number,
    orphan_numbers,
    plan_archive,
    sha256,
)


def _spec(**kw) -> ArchiveSpec:
    base = dict(
        tender_id="2026-X-001",
        dossier="tenders/2026-X-001",
        numero=2,
        draft=False,
        documents={"evaluation.json": b'{"lots": []}\n', "evaluation.csv": b"lot\n"},
        reviews=[{"file": "reviews/a.yaml", "sha256": "ab" * 32, "git_blob": "cd" * 20}],
        gate=[],
        inputs={"tender.yaml": b"id: 2026-X-001\n", "evaluation/evaluation.yaml": b"x: 1\n"},
        source_commit="0" * 40,
        clausier_version="2026.1",
        method_version="1",
        created_at="2026-12-04T10:00:00+00:00",
        created_by="Ana <ana@example.org>",
        summary=[{"lot": 1, "laureat": "A", "laureatSansCriteresResponsables": "A"}],
        previous={"numero": 1, "manifest_sha256": "ef" * 32, "tag": "t", "commit": None},
    )
    base.update(kw)
    return ArchiveSpec(**base)


def test_plan_hashes_every_file_and_chains_to_the_previous_archive():
    plan = plan_archive(_spec())
    assert list(plan.files) == [
        "evaluation.json",
        "evaluation.csv",
        "reviews.json",
        MANIFEST,
    ]
    manifest = json.loads(plan.files[MANIFEST])
    assert plan.manifest_sha256 == sha256(plan.files[MANIFEST])
    for name, data in plan.files.items():
        if name != MANIFEST:
            assert manifest["files"][name] == {"sha256": sha256(data), "bytes": len(data)}
    assert manifest["inputs"]["tender.yaml"] == sha256(b"id: 2026-X-001\n")
    assert manifest["previous"]["manifest_sha256"] == "ef" * 32
    assert (manifest["numero"], manifest["draft"], manifest["draft_reasons"]) == (2, False, [])
    assert plan.folder == "tenders/2026-X-001/archive/2"
    assert plan.tag == "cahier/2026-X-001/archive-2"
    assert f"Manifeste SHA-256 : {plan.manifest_sha256}\n" in plan.message
    assert "Archive précédente : " + "ef" * 32 in plan.message
    assert plan.message.endswith("\nCahier-Archive: 2026-X-001/2\n")
    assert "BROUILLON" not in plan.message


def test_plan_is_deterministic_and_changes_with_any_document():
    assert plan_archive(_spec()).files == plan_archive(_spec()).files
    other = plan_archive(_spec(documents={"evaluation.json": b"{}\n"}))
    assert other.manifest_sha256 != plan_archive(_spec()).manifest_sha256


def test_draft_plan_says_why_in_manifest_reviews_and_message():
    plan = plan_archive(
        _spec(draft=True, gate=["revue manquante."], assembly_raw=b"{}", assembly_draft=True)
    )
    assert "assembly-manifest.json" in plan.files
    manifest = json.loads(plan.files[MANIFEST])
    assert manifest["draft"] is True and len(manifest["draft_reasons"]) == 3
    assert json.loads(plan.files["reviews.json"])["draft"] is True
    assert "Archive n° 2 (BROUILLON)" in plan.message
    assert "Brouillon : oui — 1 revue(s) de référent" in plan.message


def test_first_archive_has_no_previous():
    plan = plan_archive(_spec(numero=1, previous=None))
    assert plan.previous_sha256 is None
    assert "Archive précédente : aucune" in plan.message


def test_draft_reasons_only_for_drafts():
    assert draft_reasons(False, ["x"], True) == []
    assert draft_reasons(True, [], False) == [
        "archive faite en brouillon (cahier archive --brouillon)"
    ]


def test_numbers_never_reuse_a_deleted_archive():
    assert next_number([], []) == 1
    assert next_number([1, 2], [1, 2]) == 3
    assert next_number([1], [1, 2]) == 3  # archive 2 deleted from the branch, tag kept
    assert orphan_numbers([1], {1: "t", 2: "t"}) == [2]
    assert orphan_numbers([1, 2], [1, 2]) == []


def test_archive_folder_names_are_numbers_without_leading_zero():
    assert [n for n in ("1", "12", "01", "0", "1a", "١", "", "notes") if is_archive_name(n)] == [
        "1",
        "12",
    ]
