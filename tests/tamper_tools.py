"""An attacker's toolbox for the tamper corpus (tests/test_tamper.py).

Run as ``python tests/tamper_tools.py COMMAND ARGS`` from the root of a cloned template
repository (the corpus's bash steps call it ``tool``). Commands:

* ``revive FILE`` — rewrite the digests of the review record FILE to those of the
  dossier's items at HEAD (what an attacker does to revive a lapsed approval);
* ``forge DOSSIER ROLE NAME EMAIL FILE [DECISION]`` — write a complete, well-formed
  review record of ROLE at HEAD in the name of NAME <EMAIL> into FILE (not committed);
* ``set FILE KEY VALUE`` — replace the first ``KEY: …`` line of a YAML file;
* ``rehash FOLDER`` — recompute the SHA-256 and sizes of an archive folder's files in
  its ``manifest.json`` (what a careful forger does after editing an archived file).

Nothing here is used by cahier itself.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import yaml


def _plan(dossier: Path):
    from tasks.review.reviews import plan_for

    return plan_for(dossier, rev="HEAD")


def revive(file: Path) -> None:
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    dossier = file.parents[1]
    digests = {i.id: i.digest for i in _plan(dossier).items}
    for it in data["items"]:
        it["digest"] = digests.get(it["id"], it["digest"])
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def forge(dossier: Path, role: str, name: str, email: str, file: Path, decision: str) -> None:
    import subprocess

    plan = _plan(dossier)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    data = {
        "tender": plan.tender,
        "role": role,
        "reviewer": {"nom": name, "email": email},
        "decision": decision,
        "comment": "Vu.",
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "items": [
            {"id": i.id, "clause": i.clause, "digest": i.digest} for i in plan.for_role(role)
        ],
        "clausier_version": plan.clausier_version,
        "commit": head,
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def set_key(file: Path, key: str, value: str) -> None:
    text = file.read_text(encoding="utf-8")
    new, n = re.subn(rf"(?m)^(\s*){re.escape(key)}:.*$", rf"\g<1>{key}: {value}", text, count=1)
    if not n:
        raise SystemExit(f"{key} absent de {file}")
    file.write_text(new, encoding="utf-8")


def rehash(folder: Path) -> None:
    import hashlib
    import json

    man_path = folder / "manifest.json"
    man = json.loads(man_path.read_text(encoding="utf-8"))
    for name, meta in man["files"].items():
        data = (folder / name).read_bytes()
        meta["sha256"] = hashlib.sha256(data).hexdigest()
        meta["bytes"] = len(data)
    man_path.write_text(json.dumps(man, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "revive":
        revive(Path(args[0]))
    elif cmd == "forge":
        forge(Path(args[0]), args[1], args[2], args[3], Path(args[4]), (args[5:] or ["approve"])[0])
    elif cmd == "rehash":
        rehash(Path(args[0]))
    elif cmd == "set":
        set_key(Path(args[0]), args[1], args[2])
    else:
        raise SystemExit(f"commande inconnue : {cmd}")
