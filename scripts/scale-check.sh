#!/usr/bin/env bash
# Scale check: the lifecycle of the example dossiers and a batch check of ~500 generated
# dossiers, through a Prefect server on PostgreSQL and two process workers.
# Leaves everything running for inspection; scripts/down.sh stops it. Exit 0 = all passed.
#   CAHIER_SCALE_DOSSIERS  generated dossiers (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$(dirname "$(command -v python3)")"
[ -x "$ROOT/.venv/bin/python" ] && BIN="$ROOT/.venv/bin"
[ -n "${VIRTUAL_ENV:-}" ] && BIN="$VIRTUAL_ENV/bin"
RUN="${CAHIER_RUN_DIR:-/tmp/cahier-run}"
WORK="$(mktemp -d /tmp/cahier-scale.XXXXXX)"
N="${CAHIER_SCALE_DOSSIERS:-500}"
export CAHIER_RUN_DIR="$RUN"

# 1. A tender repository with the example dossiers, the referents' approvals committed.
mkdir -p "$WORK/repo/tenders"
cp -r "$ROOT"/tenders/2026-* "$WORK/repo/tenders/"
git -C "$WORK/repo" init -q -b main
git -C "$WORK/repo" -c user.name=Acheteur -c user.email=achat@example.fr add -A
git -C "$WORK/repo" -c user.name=Acheteur -c user.email=achat@example.fr commit -qm "Dossiers d'exemple"
"$BIN/python" - "$WORK/repo" <<'PY'
import sys
from pathlib import Path
from tasks.review.reviews import plan_for, record_review
repo = Path(sys.argv[1])
for d in sorted((repo / "tenders").iterdir()):
    try:
        plan = plan_for(d, rev="HEAD")
    except Exception as exc:  # unusable draft: its lifecycle stops at the check
        print(f"{d.name}: pas de plan de revue ({exc})"); continue
    for role in plan.roles():
        people = plan.referents.get(role) or []
        if d.name == "2026-DINUM-WEB-002" and role == "donnees":
            # Left pending: its deployed lifecycle suspends until the DPO answers (step 4).
            print(f"{d.name}: {role} laissé en attente (revue dans Prefect)"); continue
        if people:
            record_review(d, role, "approve", people[0].email, "Vérifié (contrôle d'échelle)")
            print(f"{d.name}: {role} approuvé par {people[0].email}")
PY

# 2. The server on PostgreSQL, two workers running in that repository.
CAHIER_PG_FRESH=1 CAHIER_TENDER_REPO="$WORK/repo" CAHIER_WORKERS=2 scripts/server-up.sh
export PREFECT_API_URL="http://127.0.0.1:${PREFECT_PORT:-4242}/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_HOME="$RUN/prefect-home"

# 3. Generated dossiers for the batch check (committed: read at HEAD through Git).
"$BIN/python" "$ROOT/bench/batch.py" --generate "$WORK/repo/bulk" --count "$N" >/dev/null
git -C "$WORK/repo" add -A bulk
git -C "$WORK/repo" -c user.name=Acheteur -c user.email=achat@example.fr commit -qm "Dossiers générés"

# 4. Submit the lifecycles and the batch, wait, assert.
"$BIN/python" - "$WORK/repo" "$N" <<'PY'
import sys, time
from pathlib import Path
from uuid import UUID
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from flows.lifecycle import repo_lock_name, submit_lifecycle

repo, n = Path(sys.argv[1]), int(sys.argv[2])
t0 = time.monotonic()
from flows.lifecycle import resolve_commit
head = resolve_commit(repo, "HEAD")  # the same key as the watch flow and the hooks
runs = {d.name: submit_lifecycle(f"tenders/{d.name}", head, repo_key=repo_lock_name(repo))
        for d in sorted((repo / "tenders").iterdir())}
again = submit_lifecycle("tenders/2026-CD33-PC-001", head, repo_key=repo_lock_name(repo))
assert again == runs["2026-CD33-PC-001"], "idempotency key: a second submission made a new run"
batch = run_deployment("check-batch/check-batch", parameters={"root": "bulk", "rev": "HEAD",
                       "shards": 2, "workers": 1}, timeout=0, as_subflow=False)
runs["check-batch"] = str(batch.id)
expected = {"2026-CD33-PC-001": {"termine"}, "2026-DINUM-WEB-002": {"termine", "evaluation-en-attente"},
            "2026-DRAFT-003": {"corrections-requises"}}
failed = []
answered = 0.0
with get_client(sync_client=True) as client:
    pending = dict(runs)
    while pending and time.monotonic() - t0 < 1500:
        for name, rid in list(pending.items()):
            fr = client.read_flow_run(UUID(rid))
            if name == "2026-DINUM-WEB-002" and fr.state and fr.state.name == "Suspended" and not answered:
                # Human in the loop, deployed: the DPO approves from the CLI, which records
                # the decision in Git and resumes the waiting review run; the watch flow
                # then resumes the suspended lifecycle, which goes on to the assembly.
                print(f"{name}: Suspended — revue « donnees » en attente ({time.monotonic() - t0:.1f} s)")
                import os
                import subprocess
                proc = subprocess.run(
                    [sys.executable, "-m", "cahier", "review", "approve", f"tenders/{name}",
                     "--role", "donnees", "--reviewer-email", "nadia.haddad@dinum.example.fr",
                     "--comment", "Annexe RGPD et hébergement SecNumCloud vérifiés."],
                    cwd=repo, capture_output=True, text=True,
                    # The DPO records her own decision: she is the Git committer too.
                    env={**os.environ, "GIT_COMMITTER_NAME": "Nadia Haddad",
                         "GIT_COMMITTER_EMAIL": "nadia.haddad@dinum.example.fr"})
                print(proc.stdout.strip() or proc.stderr.strip())
                assert proc.returncode == 0, proc.stderr
                run_deployment("watch/watch", parameters={"repo": str(repo)}, timeout=0, as_subflow=False)
                answered = time.monotonic()
            elif (name == "2026-DINUM-WEB-002" and answered and fr.state
                  and fr.state.name == "Suspended" and time.monotonic() - answered > 30):
                # The scheduled watch may hold the one-at-a-time limit (our run is then
                # cancelled): ask again until a watch resumes the lifecycle.
                run_deployment("watch/watch", parameters={"repo": str(repo)}, timeout=0, as_subflow=False)
                answered = time.monotonic()
            if fr.state and fr.state.is_final():
                secs = (fr.end_time - fr.start_time).total_seconds() if fr.start_time and fr.end_time else 0
                out = fr.state.result(raise_on_failure=False) if fr.state.is_completed() else fr.state.message
                status = out.get("status") if isinstance(out, dict) else out
                if name == "check-batch":
                    status = f"{out.get('dossiers')} dossiers" if isinstance(out, dict) else out
                    ok = fr.state.is_completed() and isinstance(out, dict) and out.get("dossiers") == n
                else:
                    ok = fr.state.is_completed() and status in expected.get(name, set())
                print(f"{name}: {fr.state.name} — {status} — {secs:.1f} s (worker run {rid[:8]})")
                if not ok:
                    failed.append(name)
                del pending[name]
        time.sleep(2)
    failed += list(pending)
if not answered:
    print("2026-DINUM-WEB-002 ne s'est jamais suspendu en attente de revue")
    failed.append("suspension")
print(f"total {time.monotonic() - t0:.1f} s ; échecs : {failed or 'aucun'}")
sys.exit(1 if failed else 0)
PY
echo "Contrôle d'échelle réussi (dépôt de test : $WORK/repo)."
