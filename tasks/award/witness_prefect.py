"""The ``prefect`` archive witness: one Prefect artifact per archive on a team server run by IT.

A witness proves something only when the buyer does not control it (issue 13, Build 3;
docs/evaluation-archive.md, « Ce qui est prouvé »). The verifier configures the server's
API URL in their settings (:mod:`tasks.config.settings`, ``witnesses: [{kind: prefect,
target: https://prefect.dsi.example/api}]``). Each archive writes one **table artifact**
(one row: the :class:`~tasks.award.witness.Anchor` — manifest SHA-256, chain head, archive
commit and tag object) under the key :func:`artifact_key` (``cahier-<tender>-archive-<n>``,
Prefect's key alphabet: lowercase letters, digits, dashes). Prefect keeps every artifact
written under a key as a new version: an archive re-made after its anchor was written
shows as two different anchors for the same number.

Refused as a witness (« ne prouve rien »): a target that is not an ``http(s)`` URL, the
local server that ``cahier server`` announced in the buyer's own ``PREFECT_HOME``, and
any server whose own ``PREFECT_HOME`` (read from its ``/admin/settings``) is the buyer's
— the embedded SQLite server that cahier starts for the buyer, or ``prefect server
start`` on the buyer's machine: the buyer can rewrite its database.

What it proves, and its limit: the server's administrator (IT), not the buyer, decides
who may delete artifacts; Prefect's open-source server has no per-user rights, so the
proof holds as far as the buyer cannot reach the server's API with write access other
than through cahier (a reverse proxy or Prefect Cloud's roles do that).

Errors: a server that does not answer or refuses is reported by the callers (French
lines), never raised: the archive itself stays valid.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["PREFECT_TIMEOUT_S", "artifact_key", "read_anchors", "refusal", "write_anchor"]

#: Seconds allowed for one request to the witness server.
PREFECT_TIMEOUT_S = 15.0


def artifact_key(tender: str, numero: int | None = None) -> str:
    """``cahier-2026-cd33-pc-001-archive-3`` (``numero`` None: the key prefix, without
    the number). Characters outside ``[a-z0-9-]`` become dashes."""
    slug = re.sub(r"[^a-z0-9-]+", "-", tender.lower()).strip("-")
    return f"cahier-{slug}-archive-" + ("" if numero is None else str(numero))


def _client(url: str) -> Any:
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(url, httpx_settings={"timeout": PREFECT_TIMEOUT_S})


def _same_path(a: Any, b: Path) -> bool:
    try:
        return Path(str(a)).expanduser().resolve() == b.expanduser().resolve()
    except (OSError, RuntimeError):
        return False


def refusal(url: str, buyer: Any) -> str | None:
    """Why the server at ``url`` proves nothing as a witness (French), or None.

    ``buyer``: the buyer's :class:`~tasks.config.settings.PrefectSettings` (their
    ``PREFECT_HOME`` and the local server of ``cahier server``).

    Raises:
        httpx.HTTPError: the server did not answer (callers report it as unreachable).
    """
    if not re.match(r"https?://", url or ""):
        return (
            f"« {url} » n'est pas l'URL d'un serveur Prefect (http(s)://hôte/api) : le serveur "
            "embarqué de l'acheteur ne prouve rien"
        )
    local = buyer.local_server() if buyer is not None else None
    if local and local["api_url"].rstrip("/") == url.rstrip("/"):
        return (
            "c'est le serveur local de « cahier server » de l'acheteur (PREFECT_HOME "
            f"{buyer.effective_home()}) : sa base SQLite est à l'acheteur, il ne prouve rien"
        )
    with _client(url) as client:
        response = client.request("GET", "/admin/settings")
        home = (response.json() or {}).get("home")
    if buyer is not None and home and _same_path(home, buyer.effective_home()):
        return (
            f"ce serveur tourne sur le PREFECT_HOME de l'acheteur ({home}) : serveur embarqué "
            "ou local dont l'acheteur peut réécrire la base SQLite, il ne prouve rien"
        )
    return None


def write_anchor(url: str, anchor: Any) -> str:
    """Create the artifact of ``anchor`` on the server at ``url``; its id.

    Raises:
        httpx.HTTPError, prefect's ObjectNotFound…: the server refused or did not answer.
    """
    from prefect.client.schemas.actions import ArtifactCreate

    row = {k: ("" if v is None else v) for k, v in anchor.__dict__.items()}
    artifact = ArtifactCreate(
        key=artifact_key(anchor.tender, anchor.numero),
        type="table",
        data=[row],
        description=(
            f"Ancre de l'archive n° {anchor.numero} du dossier {anchor.tender} (cahier) : "
            f"SHA-256 du manifeste {anchor.manifest_sha256}, commit {anchor.commit}, "
            f"étiquette {anchor.tag}. Ne pas supprimer : c'est la preuve de l'archive."
        ),
    )
    with _client(url) as client:
        return str(client.create_artifact(artifact).id)


def read_anchors(url: str, tender: str) -> dict[int, list[str]]:
    """Archive number → manifest SHA-256 values anchored on the server for ``tender``,
    oldest first, each value once (several values: the archive was re-made).

    Raises:
        httpx.HTTPError: the server did not answer.
    """
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    prefix = artifact_key(tender)
    found: list[tuple[Any, int, str]] = []
    with _client(url) as client:
        offset = 0
        while True:
            page = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix + "%")),
                limit=200,
                offset=offset,
            )
            for a in page:
                number = (a.key or "").removeprefix(prefix)
                rows = a.data if isinstance(a.data, list) else []
                row = rows[0] if rows and isinstance(rows[0], dict) else {}
                if number.isdigit() and row.get("tender") == tender:
                    found.append((a.created, int(number), str(row.get("manifest_sha256"))))
            if len(page) < 200:
                break
            offset += len(page)
    out: dict[int, list[str]] = {}
    for _created, n, value in sorted(
        found, key=lambda f: (f[0].timestamp() if f[0] else 0.0, f[1])
    ):
        values = out.setdefault(n, [])
        if value not in values:
            values.append(value)
    return out
