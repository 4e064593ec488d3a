"""The tamper corpus: attacks with ordinary Git commands, and legitimate operations.

Run with ``pytest -m tamper`` (``.ci/run`` does, after the README's test command);
skipped otherwise. One template repository is built per session — the example
dossiers 2026-DINUM-WEB-002 (every role approved by its referent through cahier) and
2026-CD33-PC-001 (approved, archive n° 1) — and every case works in its own clone.

**Adding a case** (no need to read the defences): append a :class:`Case` to
:data:`ATTACKS` or :data:`LEGITIMATE` with

* ``klass`` — the attack class (record edit, rename, merge, rebase, squash,
  author/committer mix, self-declaration, tag move, delete and re-create, amend,
  git replace, re-chaining, evaluation input, NaN/infinity…);
* ``steps`` — bash run at the root of the clone, ``set -e``. Variables: ``$D`` (web
  dossier), ``$C`` (archived dossier), people ``$BUYER_N/$BUYER_E``, ``$NADIA_N/$NADIA_E``
  (données), ``$PAUL_N/$PAUL_E`` (données), ``$AMELIE_*`` (accessibilité), ``$THOMAS_*``
  (environnement), ``$MARC_*`` (social), ``$CLAIRE_*`` (environnement of $C).
  Functions: ``who NAME EMAIL`` (Git author and committer from now on), ``cahier …``
  (the CLI), ``tool …`` (tests/tamper_tools.py: ``revive``, ``forge``, ``set``),
  ``rec DOSSIER ROLE`` (path of that role's record);
* ``check`` — what decides: ``review:<role>`` (the items of that role in $D, or
  ``review:<role>@C`` in $C), ``audit`` (:func:`tasks.award.audit.verify` of $C) or
  ``audit-cli`` (``cahier audit --verify $C``, exit code and wording);
* ``attempt`` — optionally, a last command expected to be **refused** (exit code 2);
* ``expect`` — ``refused`` (the attempt exits 2), ``reported`` (the forged approval
  does not count and the status names why, or the audit finds the problem),
  ``declarative`` (counts, shown as a declared — not proven — identity), ``unproven``
  (``audit --verify`` exits 0 but says « non prouvé contre une réécriture complète »:
  what a repository alone cannot prove, without a witness), ``ok``.
* ``verifier`` — the verifier's settings for the check, as ``CAHIER_*`` variables
  (``{base}`` is the folder holding the clone), e.g. a signature policy;
* ``witness`` — ``True`` (an append-only file) or ``"git"`` (a bare remote): the
  verifier's witness, outside the clone, set for the steps and the check
  (``CAHIER_WITNESSES``).

The figures (detected / attempted, false alarms / legitimate) are printed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.tamper

ROOT = Path(__file__).resolve().parents[1]
WEB = "tenders/2026-DINUM-WEB-002"
CD33 = "tenders/2026-CD33-PC-001"
PEOPLE = {
    "BUYER": ("Acheteuse", "acheteuse@dinum.example.fr"),
    "NADIA": ("Nadia Haddad", "nadia.haddad@dinum.example.fr"),
    "PAUL": ("Paul Vasseur", "paul.vasseur@dinum.example.fr"),
    "AMELIE": ("Amélie Rousseau", "amelie.rousseau@dinum.example.fr"),
    "THOMAS": ("Thomas Garnier", "thomas.garnier@dinum.example.fr"),
    "MARC": ("Marc Lefebvre", "marc.lefebvre@dinum.example.fr"),
    "CLAIRE": ("Claire Lestage", "claire.lestage@departement33.example.fr"),
}


@dataclass(frozen=True)
class Case:
    id: str
    klass: str
    steps: str
    check: str
    expect: str
    attempt: str = ""
    witness: bool | str = False
    verifier: tuple[tuple[str, str], ...] = ()
    because: str = ""  # when set, the refusal or report must say it (the reason, not another)


def _set_manifest_field(field: str, value_json: str) -> str:
    """Shell script: set ``field`` of archive 1's manifest to a JSON value, and commit."""
    return f"""\"$PY\" - $C/archive/1/manifest.json <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p, encoding="utf-8"))
d["{field}"] = json.loads({value_json!r})
open(p, "w", encoding="utf-8").write(json.dumps(d, ensure_ascii=False, indent=2) + chr(10))
PY
        git commit -qam 'manifeste'"""


#: The verifier's settings under which only a signature of the referent counts.
_REQUIRED_SIGNATURES = (
    ("CAHIER_SIGNATURES__POLICY", "signature-obligatoire"),
    ("CAHIER_SIGNATURES__ALLOWED_SIGNERS", "{base}/allowed_signers"),
)


def _paul_approves_signed_by(principal: str) -> str:
    """Shell script: an SSH key of ``principal`` (in the verifier's allowed signers) signs
    the approval that Paul, referent, records after an edit."""
    return f"""ssh-keygen -q -t ed25519 -N '' -C "{principal}" -f ../cle >/dev/null
        echo "{principal} $(cat ../cle.pub)" > ../allowed_signers
        edit8 1 && git commit -qam 'Réversibilité'
        git config gpg.format ssh && git config user.signingkey "$(cd .. && pwd)/cle"
        who "$PAUL_N" "$PAUL_E" && cahier review approve $D --role donnees --comment 'Signé'"""


ATTACKS: list[Case] = [
    # ----------------------------------------------------------------- record edit
    Case(
        "edit-revive-digest",
        "record edit",
        """edit8 1 && git commit -qam 'Réversibilité'
        tool revive $(rec $D donnees) && git commit -qam 'mise à jour de la revue'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "edit-decision",
        "record edit",
        """who "$PAUL_N" "$PAUL_E"
        cahier review request-changes $D --role donnees --comment 'Préciser la durée'
        who "$BUYER_N" "$BUYER_E"
        f=$(ls $D/reviews/*-donnees*.yaml | tail -1)
        sed -i 's/decision: request-changes/decision: approve/' $f && git commit -qam 'typo'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "edit-comment-as-referent-author",
        "record edit",
        """edit8 6 && git commit -qam 'Réversibilité'
        tool revive $(rec $D donnees)
        git commit -qam 'revue mise à jour' --author "$NADIA_N <$NADIA_E>" """,
        "review:donnees",
        "reported",
    ),
    # ----------------------------------------------------------------- rename
    Case(
        "rename-and-edit",
        "rename",
        """edit8 1 && git commit -qam 'Réversibilité'
        f=$(rec $D donnees); git mv $f $D/reviews/20990101T000000Z-donnees.yaml
        tool revive $D/reviews/20990101T000000Z-donnees.yaml && git commit -qam 'renommage'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "rename-request-changes-to-newer",
        "rename",
        """who "$PAUL_N" "$PAUL_E"
        cahier review request-changes $D --role donnees --comment 'Non conforme'
        who "$BUYER_N" "$BUYER_E"
        old=$(ls $D/reviews/*-donnees.yaml | head -1)
        git mv $old $D/reviews/20990101T000000Z-donnees.yaml && git commit -qam 'tri'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "copy-record-as-new-file",
        "rename",
        """edit8 1 && git commit -qam 'Réversibilité'
        cp $(rec $D donnees) $D/reviews/20990101T000000Z-donnees.yaml
        tool revive $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm 'copie'""",
        "review:donnees",
        "reported",
    ),
    # ----------------------------------------------------------------- merge
    Case(
        "evil-merge-adds-record",
        "merge-introduced record",
        """edit8 1 && git commit -qam 'Réversibilité'
        git switch -qc side HEAD~1 && echo x >> README.md && git commit -qam side
        git switch -q main && git merge -q --no-ff --no-commit side
        tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm 'Fusion' --author "$NADIA_N <$NADIA_E>" """,
        "review:donnees",
        "reported",
    ),
    Case(
        "evil-merge-edits-record",
        "merge-introduced record",
        """edit8 1 && git commit -qam 'Réversibilité'
        git switch -qc side HEAD~1 && echo x >> README.md && git commit -qam side
        git switch -q main && git merge -q --no-ff --no-commit side
        tool revive $(rec $D donnees) && git add -A && git commit -qm 'Fusion'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "merge-of-forged-branch",
        "merge-introduced record",
        """edit8 1 && git commit -qam 'Réversibilité'
        git switch -qc side
        tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm 'revue'
        git switch -q main && echo y >> README.md && git commit -qam autre
        git merge -q --no-ff side -m 'Fusion de la revue'""",
        "review:donnees",
        "reported",
    ),
    # ----------------------------------------------------------------- rebase
    Case(
        "rebase-referent-commit",
        "rebase",
        """git switch -qc side $(git rev-list --max-parents=0 HEAD) && echo x >> README.md
        git commit -qam base && git switch -q main && git rebase -q side""",
        "review:donnees",
        "declarative",
    ),
    Case(
        "cherry-pick-approval",
        "rebase",
        """a=$(git log --format=%H --author="$NADIA_E" -1)
        git switch -qc side $(git rev-list --max-parents=0 HEAD) && git cherry-pick $a >/dev/null
        git switch -q main && git reset -q --hard side""",
        "review:donnees",
        "declarative",
    ),
    Case(
        "rebase-approval-over-edit",
        "rebase",
        """a=$(git log --format=%H --author="$NADIA_E" -1)
        git switch -qc side ${a}~1 && edit8 1
        git commit -qam 'Réversibilité'
        git cherry-pick $a >/dev/null && git switch -q main && git reset -q --hard side""",
        "review:donnees",
        "reported",
    ),
    # ----------------------------------------------------------------- squash
    Case(
        "squash-merge-of-approval",
        "squash",
        """edit8 1 && git commit -qam 'Réversibilité'
        git switch -qc side && who "$NADIA_N" "$NADIA_E"
        cahier review approve $D --role donnees --comment 'Vu'
        who "$BUYER_N" "$BUYER_E" && git switch -q main && git merge -q --squash side
        git commit -qm 'squash'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "squash-approval-with-edit",
        "squash",
        """git switch -qc side
        edit8 1 && git commit -qam 'Réversibilité'
        who "$NADIA_N" "$NADIA_E" && echo z >> README.md && git commit -qam 'note'
        who "$BUYER_N" "$BUYER_E"
        tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm forge
        git switch -q main && git merge -q --squash side && git commit -qm 'squash'""",
        "review:donnees",
        "reported",
    ),
    Case(
        "squash-authored-as-referent",
        "squash",
        """git switch -qc side
        edit8 1 && git commit -qam 'Réversibilité'
        tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm forge
        git switch -q main && git merge -q --squash side
        git commit -qm 'squash' --author "$NADIA_N <$NADIA_E>" """,
        "review:donnees",
        "reported",
    ),
    # ----------------------------------------------------------------- author/committer
    Case(
        "spoofed-author",
        "author/committer mix",
        """edit8 1 && git commit -qam 'Réversibilité'
        tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm 'revue' --author "$NADIA_N <$NADIA_E>" """,
        "review:donnees",
        "declarative",
    ),
    Case(
        "on-behalf",
        "author/committer mix",
        """edit8 1 && git commit -qam 'Réversibilité'
        cahier review approve $D --role donnees --reviewer-email $NADIA_E --pour-le-compte-de \
            --comment 'par téléphone'""",
        "review:donnees",
        "declarative",
    ),
    Case(
        "unsigned-spoof-under-required-signatures",
        "author/committer mix",
        """edit8 1 && git commit -qam 'Réversibilité'
        tool forge $D donnees "$PAUL_N" "$PAUL_E" $D/reviews/20990101T000000Z-donnees.yaml
        git add -A && git commit -qm 'revue' --author "$PAUL_N <$PAUL_E>" """,
        "review:donnees",
        "reported",
        verifier=(("CAHIER_SIGNATURES__POLICY", "signature-obligatoire"),),
    ),
    Case(
        "signed-by-a-colleague-whose-address-contains-the-referents",
        "author/committer mix",
        _paul_approves_signed_by("anne$PAUL_E"),
        "review:donnees",
        "reported",
        verifier=_REQUIRED_SIGNATURES,
    ),
    Case(
        "edit-hidden-behind-a-broken-file",
        "author/committer mix",
        """who "$NADIA_N" "$NADIA_E"
        edit8 1 && echo 'note: "guillemet ouvert' >> $D/tender.yaml
        git commit -qam 'Réversibilité'
        who "$BUYER_N" "$BUYER_E"
        sed -i '$d' $D/tender.yaml && git commit -qam 'guillemet'
        who "$NADIA_N" "$NADIA_E" """,
        "review:donnees",
        "refused",
        attempt="""who "$NADIA_N" "$NADIA_E" && cahier review approve $D --role donnees --comment 'Vu'""",
        because="le dossier y est illisible",
    ),
    Case(
        "launder-one-character",
        "author/committer mix",
        """who "$NADIA_N" "$NADIA_E"
        edit8 1 && git commit -qam 'Réversibilité'
        who "$BUYER_N" "$BUYER_E"
        sed -i 's/^## Article 8 – Réversibilité$/&./' $D/pieces/ccap.md && git commit -qam 'espace'
        who "$NADIA_N" "$NADIA_E" """,
        "review:donnees",
        "refused",
        attempt="""who "$NADIA_N" "$NADIA_E" && cahier review approve $D --role donnees --comment 'Vu'""",
        because="auteur(e) d'une modification",
    ),
    Case(
        "launder-as-committer",
        "author/committer mix",
        """who "$NADIA_N" "$NADIA_E"
        edit8 1
        git commit -qam 'Réversibilité' --author "$BUYER_N <$BUYER_E>" """,
        "review:donnees",
        "refused",
        attempt="""who "$NADIA_N" "$NADIA_E" && cahier review approve $D --role donnees --comment 'Vu'""",
        because="est committer d'une modification",
    ),
    # ----------------------------------------------------------------- self-declaration
    Case(
        "self-declared-then-folder-renamed",
        "self-declaration",
        """sed -i "s/  donnees:/  donnees:\\n    - nom: $BUYER_N\\n      email: $BUYER_E/" $D/tender.yaml
        git commit -qam 'référente'
        who "$PAUL_N" "$PAUL_E" && git mv $D tenders/2026-DINUM-WEB-002-v2
        git commit -qm 'renommage' && who "$BUYER_N" "$BUYER_E"
        D=tenders/2026-DINUM-WEB-002-v2 edit8 1
        who "$PAUL_N" "$PAUL_E" && git commit -qam 'Réversibilité' && who "$BUYER_N" "$BUYER_E" """,
        "review:donnees",
        "refused",
        attempt="cahier review approve tenders/2026-DINUM-WEB-002-v2 --role donnees --comment Vu",
    ),
    Case(
        "self-declared-removal-reverted",
        "self-declaration",
        """sed -i "s/  donnees:/  donnees:\\n    - nom: $BUYER_N\\n      email: $BUYER_E/" $D/tender.yaml
        git commit -qam 'référente' && who "$PAUL_N" "$PAUL_E"
        git revert --no-edit HEAD >/dev/null && git revert --no-edit HEAD >/dev/null
        edit8 1 && git commit -qam 'Réversibilité'
        who "$BUYER_N" "$BUYER_E" """,
        "review:donnees",
        "refused",
        attempt="cahier review approve $D --role donnees --comment Vu",
    ),
    Case(
        "self-declared-under-other-author",
        "self-declaration",
        """sed -i "s/  donnees:/  donnees:\\n    - nom: $BUYER_N\\n      email: $BUYER_E/" $D/tender.yaml
        git commit -qam 'référente' --author "$PAUL_N <$PAUL_E>"
        who "$PAUL_N" "$PAUL_E"
        edit8 1 && git commit -qam 'Réversibilité'
        who "$BUYER_N" "$BUYER_E" """,
        "review:donnees",
        "refused",
        attempt="cahier review approve $D --role donnees --comment Vu",
    ),
    Case(
        "self-declared-in-a-broken-file-repaired-by-another",
        "self-declaration",
        """sed -i "s/  donnees:/  donnees:\\n    - nom: $BUYER_N\\n      email: $BUYER_E/" $D/tender.yaml
        echo 'note: "guillemet ouvert' >> $D/tender.yaml && git commit -qam 'référente'
        who "$PAUL_N" "$PAUL_E" && sed -i '$d' $D/tender.yaml && git commit -qam 'guillemet'
        edit8 1 && git commit -qam 'Réversibilité'
        who "$BUYER_N" "$BUYER_E" """,
        "review:donnees",
        "refused",
        attempt="cahier review approve $D --role donnees --comment Vu",
        because="par cette même personne",
    ),
    # ----------------------------------------------------------------- tag move
    Case(
        "tag-moved-to-later-commit",
        "tag move",
        """echo x >> README.md && git commit -qam x
        git tag -f -a $TAG -m "$(git tag -l --format='%(contents)' $TAG)" HEAD >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "tag-lightweight",
        "tag move",
        """git tag -d $TAG >/dev/null && git tag $TAG HEAD""",
        "audit",
        "reported",
    ),
    Case(
        "tag-moved-to-parent",
        "tag move",
        """git tag -f -a $TAG -m "$(git tag -l --format='%(contents)' $TAG)" HEAD~1 >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "tag-moved-to-tree",
        "tag move",
        """git tag -f -a $TAG -m "$(git tag -l --format='%(contents)' $TAG)" 'HEAD^{tree}' >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "tag-moved-to-file",
        "tag move",
        """git tag -f $TAG HEAD:README.md >/dev/null""",
        "audit",
        "reported",
    ),
    # ----------------------------------------------------------------- delete and re-create
    Case(
        "delete-and-recreate",
        "delete and re-create",
        """git rm -rq $C/archive/1 && git commit -qm 'ménage' && git tag -d $TAG >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "revert-and-recreate",
        "delete and re-create",
        """git revert --no-edit HEAD >/dev/null && git tag -d $TAG >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "delete-keep-tag",
        "delete and re-create",
        """git rm -rq $C/archive/1 && git commit -qm 'ménage'""",
        "audit",
        "reported",
    ),
    # ----------------------------------------------------------------- amend
    Case(
        "amend-and-retag-without-fields",
        "amend",
        """sed -i 's/;/,/' $C/archive/1/evaluation.csv && git commit -q --amend -a --no-edit
        git tag -f -a $TAG -m 'Archive n° 1' >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "amend-keep-tag",
        "amend",
        """sed -i 's/;/,/' $C/archive/1/evaluation.csv && git commit -q --amend -a --no-edit""",
        "audit",
        "reported",
    ),
    Case(
        "amend-retag-with-fields",
        "amend",
        """sed -i 's/;/,/' $C/archive/1/evaluation.csv && git commit -q --amend -a --no-edit
        m=$(git tag -l --format='%(contents)' $TAG | sed "s/^Commit: .*/Commit: $(git rev-parse HEAD)/")
        git tag -f -a $TAG -m "$m" >/dev/null""",
        "audit",
        "reported",
    ),
    # ----------------------------------------------------------------- git replace
    Case(
        "replace-archive-commit",
        "git replace",
        """a=$(git rev-parse HEAD); git switch -qc f && sed -i 's/;/,/' $C/archive/1/evaluation.csv
        git commit -qam f && git replace $a $(git rev-parse HEAD) && git switch -q main""",
        "audit",
        "reported",
    ),
    Case(
        "replace-csv-blob",
        "git replace",
        """b=$(git rev-parse HEAD:$C/archive/1/evaluation.csv)
        n=$(git show $b | sed 's/;/,/' | git hash-object -w --stdin) && git replace $b $n
        git reset -q --hard""",
        "audit",
        "reported",
    ),
    Case(
        "replace-tag-object",
        "git replace",
        """t=$(git rev-parse $TAG); git tag -a tmp -m 'Archive n° 1' HEAD~1
        git replace -f $t $(git rev-parse tmp) && git tag -d tmp >/dev/null""",
        "audit",
        "reported",
    ),
    # ----------------------------------------------------------------- re-chaining
    Case(
        "rechain-without-witness",
        "re-chaining",
        """git reset -q --hard HEAD~1 && git tag -d $TAG >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null""",
        "audit-cli",
        "unproven",
    ),
    Case(
        "rechain-two-archives-without-witness",
        "re-chaining",
        """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null
        git reset -q --hard HEAD~3 && git tag -d $TAG ${TAG%1}2 >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null && cahier archive $C >/dev/null""",
        "audit-cli",
        "unproven",
    ),
    Case(
        "rechain-amended-source-without-witness",
        "re-chaining",
        """git reset -q --hard HEAD~1 && git tag -d $TAG >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -q --amend -a --no-edit && cahier archive $C >/dev/null""",
        "audit-cli",
        "unproven",
    ),
    Case(
        "rechain-with-file-witness",
        "re-chaining with witness",
        """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null
        git reset -q --hard HEAD~2 && git tag -d ${TAG%1}2 >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && CAHIER_WITNESSES='[]' cahier archive $C >/dev/null""",
        "audit-cli",
        "reported",
        witness=True,
    ),
    Case(
        "rechain-delete-with-file-witness",
        "re-chaining with witness",
        """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null
        git reset -q --hard HEAD~2 && git tag -d ${TAG%1}2 >/dev/null""",
        "audit-cli",
        "reported",
        witness=True,
    ),
    Case(
        "rechain-with-git-witness",
        "re-chaining with witness",
        """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && cahier archive $C >/dev/null
        git reset -q --hard HEAD~2 && git tag -d ${TAG%1}2 >/dev/null
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix' && CAHIER_WITNESSES='[]' cahier archive $C >/dev/null""",
        "audit-cli",
        "reported",
        witness="git",
    ),
    # ----------------------------------------------------------------- evaluation input
    Case(
        "archived-result-forged-consistently",
        "evaluation input",
        """f=$C/archive/1/evaluation.json
        "$PY" - "$f" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p, encoding="utf-8"))
lot = d["lots"][0]; offres = lot["offres"]
a, b = offres[0], offres[1]
a["rang"], b["rang"] = b["rang"], a["rang"]; lot["laureat"] = b["id"]
open(p, "w", encoding="utf-8").write(json.dumps(d, ensure_ascii=False, indent=2) + chr(10))
PY
        tool rehash $C/archive/1 && git commit -q --amend -a --no-edit
        m=$(git tag -l --format='%(contents)' $TAG | sed "s/^Commit: .*/Commit: $(git rev-parse HEAD)/; s/^Manifeste-SHA256: .*/Manifeste-SHA256: $(sha256sum $C/archive/1/manifest.json | cut -c1-64)/")
        git tag -f -a $TAG -m "$m" >/dev/null""",
        "audit",
        "reported",
    ),
    Case(
        "manifest-not-an-object",
        "archive edit",
        """echo '[]' > $C/archive/1/manifest.json && git commit -qam 'manifeste'""",
        "audit",
        "reported",
    ),
    Case(
        "manifest-previous-not-an-object",
        "archive edit",
        _set_manifest_field("previous", '"aucune"'),
        "audit",
        "reported",
    ),
    Case(
        "manifest-source-commit-not-text",
        "archive edit",
        _set_manifest_field("source_commit", "12345"),
        "audit",
        "reported",
    ),
    Case(
        "lookalike-archive-folder",
        "archive edit",
        """cp -r $C/archive/1 $C/archive/01 && git add -A && git commit -qm 'copie'""",
        "audit",
        "reported",
    ),
    Case(
        "stray-file-in-archive-folder",
        "archive edit",
        """echo 'classement définitif : B' > $C/archive/RESULTAT.txt && git add -A
        git commit -qm 'résultat'""",
        "audit",
        "reported",
    ),
    Case(
        "archived-reviews-not-records",
        "archive edit",
        """echo '{"records": ["environnement.yaml"]}' > $C/archive/1/reviews.json
        git commit -qam 'revues'""",
        "audit",
        "reported",
    ),
    Case(
        "source-evaluation-rewritten",
        "evaluation input",
        """a=$(git rev-parse HEAD); git reset -q --soft HEAD~1
        sed -i '0,/prix: 275000/s//prix: 175000/' $C/evaluation/evaluation.yaml
        git add -A && git commit -q --amend --no-edit && git cherry-pick $a >/dev/null 2>&1 || true
        git -c core.editor=true cherry-pick --continue >/dev/null 2>&1 || true""",
        "audit",
        "reported",
    ),
    Case(
        "review-record-edited-after-archive",
        "evaluation input",
        """f=$(rec $C environnement); sed -i 's/Vu, conforme./Vu./' $f && git commit -qam revue""",
        "audit",
        "reported",
    ),
    # ----------------------------------------------------------------- NaN and infinities
    Case(
        "infinite-price",
        "NaN and infinities",
        """sed -i '0,/prix: 275000/s//prix: .inf/' $C/evaluation/evaluation.yaml
        git commit -qam 'prix'""",
        "audit",
        "refused",
        attempt="cahier archive $C",
    ),
    Case(
        "infinite-amount",
        "NaN and infinities",
        """echo '  montant: .inf' >> $C/evaluation/evaluation.yaml && git commit -qam montant""",
        "audit",
        "refused",
        attempt="cahier decp $C",
    ),
    Case(
        "nan-weight",
        "NaN and infinities",
        """sed -i '0,/poids: 30/s//poids: .nan/' $C/tender.yaml && git commit -qam poids""",
        "audit",
        "refused",
        attempt="cahier evaluate $C",
    ),
]

LEGITIMATE: list[Case] = [
    Case(
        "folder-rename",
        "legitimate",
        """git mv $D tenders/web && git commit -qm 'Renommage du dossier'""",
        "review:donnees@tenders/web",
        "ok",
    ),
    Case(
        "archived-folder-rename",
        "legitimate",
        """git mv $C tenders/cd33 && git commit -qm 'Renommage du dossier'""",
        "audit@tenders/cd33",
        "ok",
    ),
    Case(
        "merge-unrelated-work",
        "legitimate",
        """git switch -qc side && echo doc >> README.md && git commit -qam doc
        git switch -q main && echo other > NOTES.md && git add NOTES.md && git commit -qm notes
        git merge -q --no-ff side -m 'Fusion'""",
        "review:donnees",
        "ok",
    ),
    Case(
        "rebase-and-merge-unrelated",
        "legitimate",
        """git switch -qc side HEAD~2 && echo doc >> README.md && git commit -qam doc
        git rebase -q main && git switch -q main && git merge -q --ff-only side""",
        "review:donnees",
        "ok",
    ),
    Case(
        "approve-after-other-article-edit",
        "legitimate",
        """edit8 1 && git commit -qam 'Réversibilité'
        sed -i '0,/## Article 11 – Pénalités/s//## Article 11 – Pénalités de retard/' \
            $D/pieces/ccap.md && who "$PAUL_N" "$PAUL_E" && git commit -qam 'Titre'
        who "$NADIA_N" "$NADIA_E" && cahier review approve $D --role donnees --comment 'Un mois'""",
        "review:donnees",
        "ok",
    ),
    Case(
        "other-referent-approves-edit",
        "legitimate",
        """who "$NADIA_N" "$NADIA_E"
        edit8 1 && git commit -qam 'Réversibilité'
        who "$PAUL_N" "$PAUL_E" && cahier review approve $D --role donnees --comment 'Un mois'""",
        "review:donnees",
        "ok",
    ),
    Case(
        "approval-on-branch-merged",
        "legitimate",
        """edit8 1 && git commit -qam 'Réversibilité'
        git switch -qc revue && who "$PAUL_N" "$PAUL_E"
        cahier review approve $D --role donnees --comment 'Un mois'
        who "$BUYER_N" "$BUYER_E" && git switch -q main && echo n >> README.md
        git commit -qam n && git merge -q --no-ff revue -m 'Fusion de la revue'""",
        "review:donnees",
        "ok",
    ),
    Case(
        "request-changes-fix-approve",
        "legitimate",
        """who "$PAUL_N" "$PAUL_E"
        cahier review request-changes $D --role donnees --comment 'Durée trop longue'
        who "$BUYER_N" "$BUYER_E"
        edit8 2 && git commit -qam 'Deux mois'
        who "$PAUL_N" "$PAUL_E" && cahier review approve $D --role donnees --comment 'OK'""",
        "review:donnees",
        "ok",
    ),
    Case(
        "signed-approval-under-required-signatures",
        "legitimate",
        _paul_approves_signed_by("$PAUL_E"),
        "review:donnees",
        "ok",
        verifier=_REQUIRED_SIGNATURES,
    ),
    Case(
        "gc-and-repack",
        "legitimate",
        """git gc -q --prune=now && git repack -qad""",
        "audit",
        "ok",
    ),
    Case(
        "unshallowed-clone",
        "legitimate",
        """cd .. && rm -rf shallow && git clone -q --depth 1 "file://$PWD/case" shallow
        cd shallow && git fetch -q --unshallow --tags && cd ../case && rm -rf .git
        mv ../shallow/.git .git && git reset -q --hard""",
        "review:donnees",
        "ok",
    ),
    Case(
        "second-archive-after-correction",
        "legitimate",
        """sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
        git commit -qam 'Correction du prix de C' && cahier archive $C""",
        "audit",
        "ok",
    ),
    Case(
        "merge-main-into-branch-and-back",
        "legitimate",
        """git switch -qc side && echo a > A.md && git add A.md && git commit -qm a
        git switch -q main && echo b > B.md && git add B.md && git commit -qm b
        git switch -q side && git merge -q main -m m1 && git switch -q main
        git merge -q --no-ff side -m m2""",
        "review:accessibilite",
        "ok",
    ),
]


# --------------------------------------------------------------------------- harness


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "CAHIER_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "CAHIER_CONFIG": os.devnull,
        "PREFECT_API_URL": "",
        "GIT_CONFIG_NOSYSTEM": "1",
        **extra,
    }
    env.pop("PREFECT_API_URL")
    return env


def _identity(key: str) -> dict[str, str]:
    n, e = PEOPLE[key]
    return {
        "GIT_AUTHOR_NAME": n,
        "GIT_AUTHOR_EMAIL": e,
        "GIT_COMMITTER_NAME": n,
        "GIT_COMMITTER_EMAIL": e,
    }


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env or _env()
    ).stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template repository every case clones (see the module docstring)."""
    repo = tmp_path_factory.mktemp("tamper") / "template"
    for d in (WEB, CD33):
        if not (ROOT / d / "tender.yaml").is_file():
            pytest.skip(f"dossier d'exemple {d} absent")
        shutil.copytree(
            ROOT / d, repo / d, ignore=shutil.ignore_patterns("reviews", "archive", "out")
        )
    (repo / "README.md").write_text("Dossiers de la DSI\n", encoding="utf-8")
    buyer = _env(**_identity("BUYER"))
    _git(repo, "init", "-q", "-b", "main", env=buyer)
    _git(repo, "add", "-A", env=buyer)
    _git(repo, "commit", "-qm", "Dossiers initiaux", env=buyer)
    for dossier, role, who in (
        (WEB, "donnees", "NADIA"),
        (WEB, "accessibilite", "AMELIE"),
        (WEB, "environnement", "THOMAS"),
        (WEB, "social", "MARC"),
        (CD33, "environnement", "CLAIRE"),
    ):
        _cli(
            repo, ["review", "approve", dossier, "--role", role, "--comment", "Vu, conforme."], who
        )
    _cli(repo, ["archive", CD33], "BUYER")
    return repo


def _cli(repo: Path, args: list[str], who: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "cahier", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=_env(**_identity(who)),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


PRELUDE = r"""
set -euo pipefail
D=tenders/2026-DINUM-WEB-002
C=tenders/2026-CD33-PC-001
TAG=cahier/2026-CD33-PC-001/archive-1
who() { export GIT_AUTHOR_NAME="$1" GIT_AUTHOR_EMAIL="$2" GIT_COMMITTER_NAME="$1" GIT_COMMITTER_EMAIL="$2"; }
cahier() { "$PY" -m cahier "$@"; }
tool() { "$PY" "$TOOLS" "$@"; }
rec() { ls "$1"/reviews/*-"$2".yaml | head -1; }
edit8() { sed -i "s/duree_reversibilite_mois=[0-9]*/duree_reversibilite_mois=$1/" "$D/pieces/ccap.md"; }
who "$BUYER_N" "$BUYER_E"
"""


def _clone(template: Path, base: Path) -> Path:
    case = base / "case"
    subprocess.run(
        ["git", "clone", "-q", str(template), str(case)],
        check=True,
        env=_env(),
        capture_output=True,
    )
    _git(case, "config", "user.name", PEOPLE["BUYER"][0])
    _git(case, "config", "user.email", PEOPLE["BUYER"][1])
    return case


def _bash(
    case: Path, script: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = _env(PY=sys.executable, TOOLS=str(ROOT / "tests" / "tamper_tools.py"), **(extra or {}))
    for key, (n, e) in PEOPLE.items():
        env[f"{key}_N"], env[f"{key}_E"] = n, e
    return subprocess.run(
        ["bash", "-c", PRELUDE + script],
        cwd=case,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=240,
    )


def verdict(case_dir: Path, check: str, extra: dict[str, str] | None = None) -> tuple[str, str]:
    """``(verdict, explanation)`` of the state of ``case_dir`` for ``check``."""
    if check == "audit-cli":
        proc = _bash(case_dir, "cahier audit --verify $C", extra)
        out = proc.stdout + proc.stderr
        if proc.returncode == 1:
            return "reported", out
        if proc.returncode == 0:
            return ("unproven" if "non prouvé" in out else "ok"), out
        return "error", out
    env_keep = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("CAHIER_")}
    os.environ["CAHIER_CONFIG"] = os.devnull
    os.environ.update({k: v for k, v in (extra or {}).items() if k.startswith("CAHIER_")})
    try:
        kind, _, rest = check.partition(":")
        if kind.startswith("audit"):
            from tasks.award.audit import verify

            folder = kind.partition("@")[2] or CD33
            _numbers, problems = verify(case_dir / folder)
            if problems:
                return "reported", problems[0].render()
            return "ok", "intactes"
        from tasks.review.reviews import review_status

        role, _, folder = rest.partition("@")
        folder = folder or WEB
        if folder == "C":
            folder = CD33
        entries = [e for e in review_status(case_dir / folder, rev="HEAD") if e.item.role == role]
        assert entries, f"aucun élément {role}"
        text = " | ".join(e.message() for e in entries)
        bad = [e for e in entries if e.status != "approved"]
        if bad:
            named = [e for e in bad if e.rejected or e.refusal or e.status == "lapsed"]
            return ("reported" if named else "ignored"), text
        # A record that does not count is reported in the status; older unsigned records
        # under a stricter signature policy are superseded, not forged.
        if any("signature-obligatoire" not in r for e in entries for r in e.rejected):
            return "reported", text
        strong = [d for e in entries for d in e.declarative if "non signé" not in d]
        strong += [e.recorded_by.email for e in entries if e.recorded_by is not None]
        return ("declarative" if strong else "ok"), text
    finally:
        for k in [k for k in os.environ if k.startswith("CAHIER_")]:
            os.environ.pop(k)
        os.environ.update(env_keep)


RESULTS: dict[str, tuple[str, str, str]] = {}


def _witness_env(tmp_path: Path, kind: bool | str) -> dict[str, str]:
    """The verifier's witness (outside the clone: the buyer does not control it)."""
    if not kind:
        return {}
    if kind == "git":
        target = tmp_path / "temoin.git"
        subprocess.run(["git", "init", "-q", "--bare", str(target)], check=True, env=_env())
        spec = f'[{{"kind": "git", "target": "{target}"}}]'
    else:
        spec = f'[{{"kind": "fichier", "target": "{tmp_path / "temoin.log"}"}}]'
    return {"CAHIER_WITNESSES": spec}


def _run_case(template: Path, tmp_path: Path, case: Case) -> tuple[str, str]:
    clone = _clone(template, tmp_path)
    extra = _witness_env(tmp_path, case.witness)
    verifier = {k: v.replace("{base}", str(tmp_path)) for k, v in case.verifier}
    proc = _bash(clone, case.steps, extra)
    extra |= verifier  # the verifier's settings apply to the check, not to the attacker
    assert proc.returncode == 0, f"mise en place de {case.id} : {proc.stdout}{proc.stderr}"
    if case.attempt:
        att = _bash(clone, case.attempt, extra)
        if att.returncode == 2:
            return "refused", att.stderr.strip() + att.stdout.strip()
        got, why = verdict(clone, case.check, extra)
        return got, f"tentative acceptée (code {att.returncode}) ; {why}"
    return verdict(clone, case.check, extra)


@pytest.mark.parametrize("case", ATTACKS, ids=[c.id for c in ATTACKS])
def test_attack(template: Path, tmp_path: Path, case: Case):
    got, why = _run_case(template, tmp_path, case)
    RESULTS[case.id] = (case.klass, case.expect, got)
    assert got == case.expect, why
    if got in ("reported", "refused"):
        assert any(ch in why for ch in "éèàç"), f"message non français : {why}"
    assert case.because in why, why


@pytest.mark.parametrize("case", LEGITIMATE, ids=[c.id for c in LEGITIMATE])
def test_legitimate(template: Path, tmp_path: Path, case: Case):
    got, why = _run_case(template, tmp_path, case)
    RESULTS[case.id] = (case.klass, case.expect, got)
    assert got == case.expect, why


def test_corpus_shape_and_figures(request: pytest.FixtureRequest):
    """≥ 3 attacks per class, ≥ 10 legitimate operations; prints the figures."""
    classes: dict[str, int] = {}
    for c in ATTACKS:
        classes[c.klass] = classes.get(c.klass, 0) + 1
    assert min(classes.values()) >= 3, classes
    assert len(LEGITIMATE) >= 10
    attacks = [RESULTS[c.id] for c in ATTACKS if c.id in RESULTS]
    legit = [RESULTS[c.id] for c in LEGITIMATE if c.id in RESULTS]
    detected = sum(1 for _k, exp, got in attacks if got == exp)
    false_alarms = sum(1 for _k, exp, got in legit if got != exp)
    rep = request.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"corpus d'attaques : {detected}/{len(attacks)} attaques détectées, refusées ou "
        f"montrées comme déclaratives comme attendu ({len(classes)} classes)",
        f"opérations légitimes : {false_alarms} fausse(s) alerte(s) sur {len(legit)}",
    ]
    for line in lines:
        if rep is not None:
            rep.write_line(line)
        print(line)
