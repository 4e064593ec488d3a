"""Fresh attacks: the « fresh pair of eyes » of the tamper corpus (issue 13, Measure).

Written **without reading the defences** (tasks/git.py, tasks/review/, tasks/award/archive.py,
tasks/award/audit.py, flows/): only from the promises (issue 13, docs/reviews.md,
docs/evaluation-archive.md), the CLI help and the example dossiers. Each attack is a
function whose docstring says what it tries and which promise it tests, and which returns
the bash steps run at the root of a clone of the corpus's template repository (the
harness, variables and functions of tests/test_tamper.py: ``$D``, ``$C``, ``who``,
``cahier``, ``tool``, ``rec``, ``edit8``…; here also ``objection``: Paul Vasseur, second
référent données, requests changes on $D through cahier, after Nadia's approval).

Verdicts, as in the issue: ``refused`` (the last command — ``attempt`` — exits 2 with a
French message, no traceback), ``reported`` (the forged decision does not count and the
status or the audit names why), ``declarative`` (counts, shown as a declared — not
proven — identity or, for the audit, « non prouvé »), ``ok`` (nothing seen). An attack
accepts one or more verdicts; ``ok`` is never accepted. Attacks that the defences do not
detect are kept, marked ``xfail(strict=True, reason="non détecté : …")``: they are defects
to fix (the figures count them as missed).

Run with ``pytest -m tamper tests/test_tamper_fresh.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import test_tamper as corpus  # the harness: template, clone, bash, verdict (tests/ on sys.path)

pytestmark = pytest.mark.tamper

template = corpus.template  # the same template repository (one per module)

# Cyrillic « а » (U+0430) in place of the Latin « a » of nadia.haddad@…
LOOKALIKE = "n\u0430dia.haddad@dinum.example.fr"

EXTRA = r"""
export FILTER_BRANCH_SQUELCH_WARNING=1 GIT_CONFIG_PARAMETERS="'advice.graftFileDeprecated=false'"
objection() {
  who "$PAUL_N" "$PAUL_E"
  cahier review request-changes $D --role donnees --comment 'Réversibilité insuffisante : à reprendre' >/dev/null
  who "$BUYER_N" "$BUYER_E"
}
newest() { ls "$1"/reviews/*-"$2".yaml | tail -1; }
digest_of() { grep -A2 "id: $2" "$1" | sed -n 's/^ *digest: //p'; }
"""


@dataclass(frozen=True)
class Attack:
    id: str
    klass: str
    doc: str
    steps: str
    check: str
    accept: tuple[str, ...]
    attempt: str = ""
    why: str = ""  # a regex the explanation must match (the right reason)
    defect: str = ""  # « non détecté : … » when the defences miss it (xfail strict)
    verifier: str = ""  # the verifier's configuration (YAML, outside the repository)


ATTACKS: list[Attack] = []


def attack(
    klass: str,
    check: str,
    accept: tuple[str, ...] | str,
    attempt: str = "",
    why: str = "",
    defect: str = "",
    verifier: str = "",
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register the decorated function (docstring: what it tries, the promise; returns
    the bash steps) as an attack. ``verifier``: the verifier's configuration file
    (``$CAHIER_CONFIG``, outside the clone; ``{witness}`` is the path of an auditor's
    witness file, also outside), used by the ``*-cli`` checks; steps see it as
    ``$VERIFIER`` and the witness as ``$WITNESS``."""

    def deco(fn: Callable[[], str]) -> Callable[[], str]:
        ATTACKS.append(
            Attack(
                fn.__name__.replace("_", "-"),
                klass,
                fn.__doc__ or "",
                fn(),
                check,
                (accept,) if isinstance(accept, str) else accept,
                attempt,
                why,
                defect,
                verifier,
            )
        )
        return fn

    return deco


# =============================================================== suppressing an objection
# Paul (second référent données) requests changes after Nadia's approval: the item must
# stay « modifications demandées » whatever the buyer does to Paul's record.


@attack(
    "objection suppressed",
    "review:donnees",
    "reported",
    why="Paul Vasseur",
)
def objection_deleted():
    """Tries: ``git rm`` of the request-changes record of Paul, committed by the buyer;
    Nadia's earlier approval becomes the latest decision again.
    Promise: a referent's decision cannot be altered unnoticed (« enregistrement de revue
    modifié après coup par … »): the deletion is reported, naming the commit and the
    buyer, and the item is not approved."""
    return """objection
    git rm -q $(newest $D donnees) && git commit -qm 'Nettoyage des revues'"""


@attack(
    "objection suppressed",
    "review:donnees",
    "reported",
    why="Paul Vasseur",
)
def objection_reverted():
    """Tries: ``git revert`` of Paul's request-changes commit (an ordinary, innocent
    looking operation by the buyer).
    Promise: as for a deletion: Paul's objection still stands or the removal is reported."""
    return """objection
    git revert --no-edit HEAD >/dev/null"""


@attack(
    "objection suppressed",
    "review:donnees",
    "reported",
    why="Paul Vasseur",
)
def objection_dropped_by_ours_merge():
    """Tries: a branch started before Paul's objection absorbs main with
    ``git merge -s ours`` (main's changes silently discarded), then main fast-forwards to
    it: Paul's commit is in the history, his record is not in the tree.
    Promise: a record that disappears through a merge is reported like a deletion."""
    return """base=$(git rev-parse HEAD)
    objection
    git switch -qc side $base && echo x >> README.md && git commit -qam 'Notes'
    git merge -q -s ours main -m 'Fusion de main'
    git switch -q main && git merge -q --ff-only side"""


@attack("objection suppressed", "review:donnees", "reported", why="Paul Vasseur|modifié|copi")
def old_approval_replayed_as_newer():
    """Tries: a **byte-identical** copy of Nadia's earlier approval (the blob she committed
    herself, in a non-merge commit) under a newer file name, so that it sorts after Paul's
    objection and becomes « the latest decision ».
    Promise: a record counts only as the blob the referent committed at that place; a copy
    added by the buyer is not the referent's decision (and Paul's stands)."""
    return """objection
    cp $(rec $D donnees) $D/reviews/20991231T235959Z-donnees.yaml
    git add -A && git commit -qm 'Revue'"""


@attack("objection suppressed", "review:donnees", "reported", why="Paul Vasseur")
def objector_undeclared():
    """Tries: after Paul's objection the buyer removes Paul from ``referents.donnees`` in
    tender.yaml, so that his record is no longer « by a declared referent ».
    Promise: a referent is judged by the declarations at the commit that added the record
    (issue 13: declarations follow history); a later removal by the interested party does
    not void the objection."""
    return """objection
    sed -i '/- nom: Paul Vasseur/,+1d' $D/tender.yaml
    git commit -qam 'Référents à jour'"""


@attack(
    "objection suppressed",
    "review:donnees",
    ("refused", "reported"),
    why="Paul Vasseur|double|dupliqu",
)
def objector_undeclared_by_duplicate_key():
    """Tries: a second ``referents:`` key appended at the end of tender.yaml (YAML keeps
    the last one silently) lists only Nadia for ``donnees``: whoever reads the top of the
    file still sees Paul declared.
    Promise: YAML is loaded safely (a duplicate key is an error naming file and line), or
    Paul's objection stands."""
    return """objection
    printf 'referents:\\n  donnees:\\n    - nom: %s\\n      email: %s\\n' "$NADIA_N" "$NADIA_E" >> $D/tender.yaml
    git commit -qam 'Précision des référents'"""


# ====================================================================== four eyes
@attack("four eyes", "review:donnees", "reported", why="Nadia Haddad")
def self_approval_in_same_commit():
    """Tries: Nadia (a référente données) changes article 8 herself and, in the **same
    commit** she authors, adds a hand-written approval of the new text.
    Promise (four-eyes): a referent cannot approve her own change; the record is hers,
    but she is the author of the last change of the item: not retained, reason shown."""
    return """who "$NADIA_N" "$NADIA_E"
    edit8 1 && git commit -qam 'Réversibilité'
    tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20991231T235959Z-donnees.yaml
    git add -A && git commit -q --amend -m 'Réversibilité ramenée à un mois'
    who "$BUYER_N" "$BUYER_E" """


@attack(
    "four eyes",
    "review:donnees",
    "refused",
    attempt="""who "$NADIA_N" "$NADIA_E"; cahier review approve $D --role donnees --comment Vu""",
)
def laundering_round_trip():
    """Tries: Nadia changes article 8; the buyer changes it to something else and back to
    Nadia's exact text (net change of the buyer: none), then Nadia approves.
    Promise (four-eyes): every commit that touched the item since the last approval counts,
    not only the last one: Nadia's approval is refused (code 2)."""
    return """who "$NADIA_N" "$NADIA_E" && edit8 1 && git commit -qam 'Réversibilité'
    who "$BUYER_N" "$BUYER_E" && edit8 2 && git commit -qam 'Deux mois'
    edit8 1 && git commit -qam 'Un mois, finalement'"""


@attack(
    "four eyes",
    "review:donnees",
    "refused",
    attempt="""who "$NADIA_N" "$NADIA_E"; cahier review approve $D --role donnees --comment Vu""",
)
def laundering_parallel_identical_edit():
    """Tries: Nadia makes her change on a branch; the buyer makes the identical change on
    main; the merge is clean and main's first-parent history shows only the buyer's
    commit; Nadia approves.
    Promise (four-eyes): the commits of every merged branch count; Nadia's approval is
    refused (code 2)."""
    return """git switch -qc nadia && who "$NADIA_N" "$NADIA_E" && edit8 1
    git commit -qam 'Réversibilité (Nadia)'
    who "$BUYER_N" "$BUYER_E" && git switch -q main && edit8 1 && git commit -qam 'Réversibilité'
    git merge -q --no-ff nadia -m 'Fusion'"""


@attack(
    "four eyes",
    "review:donnees",
    "refused",
    attempt="""who "$NADIA_N" "$NADIA_E"
    cahier review approve "tenders/2026-DINUM-WEB-002-révisé" --role donnees --comment Vu""",
)
def laundering_through_accented_folder():
    """Tries: the dossier folder is renamed to a name with accents (« …-révisé »), then
    Nadia changes article 8 and approves it herself.
    Promise: non-ASCII paths are read correctly by the Git layer (``-z``,
    ``core.quotepath=off``) and the four-eyes rule follows the rename: refused (code 2)."""
    return """git mv $D "tenders/2026-DINUM-WEB-002-révisé" && git commit -qm 'Renommage'
    who "$NADIA_N" "$NADIA_E"
    sed -i 's/duree_reversibilite_mois=[0-9]*/duree_reversibilite_mois=1/' \\
        "tenders/2026-DINUM-WEB-002-révisé/pieces/ccap.md"
    git commit -qam 'Réversibilité'"""


@attack(
    "four eyes",
    "review:donnees",
    "refused",
    attempt="""who "$NADIA_N" "$NADIA_E"; cahier review approve $D --role donnees --comment Vu""",
)
def laundering_through_grafts():
    """Tries: Nadia changes article 8, the buyer commits something unrelated, then a
    ``.git/info/grafts`` line gives the buyer's commit Nadia's parent: history now shows the
    buyer as the author of the change. Grafts are NOT disabled by
    ``GIT_NO_REPLACE_OBJECTS`` (checked with git 2.39).
    Promise: replacements of history are ignored (issue 13: « Git runs with
    GIT_NO_REPLACE_OBJECTS=1 »; shallow repositories refused): a grafted repository is
    refused, or the four-eyes rule still sees Nadia's change — refused (code 2)."""
    return """who "$NADIA_N" "$NADIA_E" && edit8 1 && git commit -qam 'Réversibilité'
    who "$BUYER_N" "$BUYER_E" && echo x >> README.md && git commit -qam 'Notes'
    echo "$(git rev-parse HEAD) $(git rev-parse HEAD~2)" > .git/info/grafts"""


# ================================================================= identities
@attack("look-alike identity", "review:donnees", "reported", why="Nadia|non retenue|référent")
def lookalike_author_of_forged_record():
    """Tries: the buyer commits a hand-written approval naming Nadia, as Git author **and**
    committer « Nadia Haddad <nаdia.haddad@…> » with a Cyrillic « а » (looks identical in
    a terminal or a web view).
    Promise: only a commit authored by the declared referent counts; identities are
    compared exactly, not after a lenient normalisation: reported."""
    return f"""edit8 1 && git commit -qam 'Réversibilité'
    tool forge $D donnees "$NADIA_N" "$NADIA_E" $D/reviews/20991231T235959Z-donnees.yaml
    who "$NADIA_N" "{LOOKALIKE}" && git add -A && git commit -qm 'Revue données'
    who "$BUYER_N" "$BUYER_E" """


@attack(
    "look-alike identity",
    "review:donnees",
    ("refused", "reported", "declarative"),
    attempt=f"""who "$NADIA_N" "{LOOKALIKE}"
    cahier review approve $D --role donnees --reviewer-email "{LOOKALIKE}" --comment Vu""",
)
def lookalike_referent_declared_by_buyer():
    """Tries: the buyer declares a « second » référente données « Nadia Haddad » whose
    e-mail has a Cyrillic « а » (a sock puppet whose mailbox the buyer controls), changes
    article 8, then approves it as that identity with cahier.
    Promise: « approuvé par X » only if X approved; an identity confusable with another
    declared referent (same name, e-mail equal after confusable folding, UTS #39) is
    refused or at least shown as unproven."""
    return f"""sed -i "s/  donnees:/  donnees:\\n    - nom: $NADIA_N\\n      email: {LOOKALIKE}/" $D/tender.yaml
    git commit -qam 'Suppléance de la DPO'
    edit8 1 && git commit -qam 'Réversibilité'"""


# ================================================================= history rewriting
@attack(
    "history rewrite",
    "review:donnees",
    ("declarative", "reported"),
)
def filter_branch_rewrites_approved_text():
    """Tries: ``git filter-branch`` rewrites the whole history so that article 8 always
    said « 1 mois » and Nadia's record (in her own commit) carries the digest of that text;
    filter-branch keeps every author and committer. Nadia never saw that text.
    Promise: a rewrite of a referent's commit turns it declarative or drops it (issue 13,
    item 2); at least, a record whose examined ``commit`` is not in the history is
    reported."""
    return """f=$(rec $D donnees); old=$(digest_of $f DATA-REV-01)
    edit8 1 && git commit -qam tmp && tool revive $f && new=$(digest_of $f DATA-REV-01)
    git reset -q --hard HEAD~1
    git filter-branch -f --tree-filter "
      sed -i 's/duree_reversibilite_mois=3/duree_reversibilite_mois=1/' $D/pieces/ccap.md
      for r in $D/reviews/*-donnees.yaml; do [ -f \\$r ] && sed -i s/$old/$new/ \\$r; done; true
    " -- --all >/dev/null 2>&1"""


@attack("history rewrite", "review:donnees", ("declarative", "reported"))
def objection_amended_into_approval():
    """Tries: the buyer amends Paul's request-changes commit (``git commit --amend``,
    author Paul kept) turning ``decision: request-changes`` into ``approve``.
    Promise: a referent's commit rewritten by someone else is at best declarative
    (author ≠ committer, shown as such), or reported."""
    return """objection
    sed -i 's/^decision: request-changes/decision: approve/' $(newest $D donnees)
    git commit -q --amend -a --no-edit"""


# ================================================================= file-system tricks
@attack("file-system trick", "review:donnees", ("refused", "reported"))
def symlinked_record():
    """Tries: a review record that is a **symbolic link** to a forged file outside the
    dossier (``notes/revue.yaml``), committed by the buyer: whoever reads the work tree
    reads a complete approval by Nadia.
    Promise: records are read from Git, must be Nadia's own blob, and paths never escape
    the dossier: reported."""
    return """edit8 1 && git commit -qam 'Réversibilité'
    tool forge $D donnees "$NADIA_N" "$NADIA_E" notes/revue.yaml
    ln -s ../../../notes/revue.yaml $D/reviews/20991231T235959Z-donnees.yaml
    git add -A && git commit -qm 'Revue'"""


@attack(
    "file-system trick",
    "review:donnees",
    ("refused", "reported"),
    why="lien|symbolique|ccap",
)
def symlinked_piece_outside_dossier():
    """Tries: ``pieces/ccap.md`` (articles 7.2 and 8 reviewed by the DPO) replaced by a
    symbolic link to an edited copy outside the dossier: Git holds a link, the assembly
    reads the edited text.
    Promise: paths never escape the dossier: refused, or the reviewed items of the CCAP
    are not shown approved."""
    return """mkdir -p brouillons && cp $D/pieces/ccap.md brouillons/ccap.md
    sed -i 's/duree_reversibilite_mois=[0-9]*/duree_reversibilite_mois=1/' brouillons/ccap.md
    rm $D/pieces/ccap.md && ln -s ../../../brouillons/ccap.md $D/pieces/ccap.md
    git add -A && git commit -qm 'CCAP partagé'"""


@attack(
    "concurrency",
    "review:donnees",
    ("refused", "reported"),
    why="refus|caduque",
    attempt="""who "$NADIA_N" "$NADIA_E"
    cahier review approve $D --role donnees --comment 'Vu, article 8 à 3 mois'
    r=$(git log -F --grep='(concurrente)' --format=%H -1)
    if [ -z "$r" ] || grep -q "commit: $r" $(newest $D donnees); then
      who "$PAUL_N" "$PAUL_E"; edit8 2; git commit -qam 'Réversibilité (après)'
    fi""",
)
def concurrent_edit_during_approval():
    """Tries: while Nadia's ``cahier review approve`` runs, a colleague's commit changing
    article 8 lands on the branch (simulated deterministically by a ``post-index-change``
    hook fired by the first index write of the approval, which commits the change).
    Promise: the approval covers exactly the text the referent reviewed: the
    compare-and-swap fails and the retry does not re-plan silently onto the new text —
    refused (code 2) or the new text is shown as not approved. (If the hook never fires,
    the change is committed after the approval and must lapse it.)"""
    return r"""cat > .git/hooks/post-index-change <<'EOF'
#!/bin/sh
[ -e .git/race-done ] && exit 0
touch .git/race-done
unset GIT_INDEX_FILE
sed -i 's/duree_reversibilite_mois=[0-9]*/duree_reversibilite_mois=1/' tenders/2026-DINUM-WEB-002/pieces/ccap.md
GIT_AUTHOR_NAME='Paul Vasseur' GIT_AUTHOR_EMAIL=paul.vasseur@dinum.example.fr \
GIT_COMMITTER_NAME='Paul Vasseur' GIT_COMMITTER_EMAIL=paul.vasseur@dinum.example.fr git commit -qm 'Réversibilité (concurrente)' tenders/2026-DINUM-WEB-002/pieces/ccap.md
exit 0
EOF
    chmod +x .git/hooks/post-index-change"""


# =================================================================== archives
@attack("archive", "audit", "reported", why="étiquette|annot")
def lightweight_tag_replaces_annotated():
    """Tries: the annotated archive tag is replaced by a lightweight tag of the same name
    on the same commit (no ``Commit:`` nor ``Manifeste-SHA256:`` fields any more).
    Promise: tags without the expected fields fail: reported."""
    return """t=cahier/2026-CD33-PC-001/archive-1; c=$(git rev-parse "$t^{commit}")
    git tag -d $t >/dev/null && git tag $t $c"""


@attack("archive", "audit-cli", "reported", why="evaluation.csv")
def skip_worktree_hides_altered_archive():
    """Tries: ``archive/1/evaluation.csv`` (what the buyer opens in Excel for the
    commission) is altered in the work tree only, hidden from ``git status`` and
    ``git diff`` by ``git update-index --skip-worktree``.
    Promise (docs/evaluation-archive.md): ``audit --verify`` compares the work tree to the
    archive commit and names the altered file: reported (exit 1)."""
    return """f=$C/archive/1/evaluation.csv
    git update-index --skip-worktree $f
    sed -i 's/Reconditionnement Aquitaine SCOP/Discount PC Distribution SAS/' $f
    test -z "$(git status --porcelain)" """


@attack(
    "archive",
    "audit",
    "reported",
    why="environnement|revue|reviews",
)
def review_record_deleted_after_archive():
    """Tries: after the final archive, the buyer deletes Claire's approval record (the
    referent whose review the archive certified).
    Promise: review records changed after archiving are reported."""
    return """git rm -q $C/reviews/*-environnement.yaml && git commit -qm 'Ménage'"""


@attack(
    "archive",
    "audit@tenders/2026-CD33-PC-001-été",
    "reported",
    why="supprim|déjà|n° 1",
)
def rearchive_after_accented_rename():
    """Tries: the archived folder is renamed to « …-été » (legitimate), then
    ``archive/1`` and its tag are deleted, a price changed and a new « Archive n° 1 »
    created in the renamed folder.
    Promise: archive numbers are unique across history (a deleted and re-created archive n
    is detected), also through a rename to a non-ASCII path: reported."""
    return """E="tenders/2026-CD33-PC-001-été"
    git mv $C "$E" && git commit -qm 'Renommage'
    git rm -rq "$E/archive/1" && git commit -qm 'Archive erronée'
    git tag -d cahier/2026-CD33-PC-001/archive-1 >/dev/null
    sed -i '0,/prix: 275000/s//prix: 160000/' "$E/evaluation/evaluation.yaml"
    git commit -qam 'Prix corrigé' && cahier archive "$E" >/dev/null"""


@attack(
    "archive",
    "audit",
    ("refused", "reported"),
    why="greff|graft|supprim",
)
def rearchive_hidden_by_grafts():
    """Tries: ``archive/1`` and its tag deleted, a price changed, « Archive n° 1 » created
    again, then ``.git/info/grafts`` hides the original archive and the deletion (the
    first new commit gets the pre-archive commit as parent). Grafts are not disabled by
    ``GIT_NO_REPLACE_OBJECTS``.
    Promise: a replaced or grafted history is not trusted: refused or reported."""
    return """pre=$(git rev-parse HEAD~1)
    git rm -rq $C/archive/1 && git commit -qm 'Archive erronée'
    first=$(git rev-parse HEAD)
    git tag -d cahier/2026-CD33-PC-001/archive-1 >/dev/null
    sed -i '0,/prix: 275000/s//prix: 160000/' $C/evaluation/evaluation.yaml
    git commit -qam 'Prix corrigé' && cahier archive $C >/dev/null
    echo "$first $pre" > .git/info/grafts"""


@attack(
    "archive",
    "audit-cli",
    "declarative",
    why="non prouvé",
)
def rewritten_history_rearchived_without_witness():
    """Tries: the branch is reset to before the archive, a price changed and the archive
    made again: a fully consistent n° 1 with a different winner, no trace in the history.
    Promise: without a witness, ``audit --verify`` never says a bare « intactes » but
    « intactes dans le dépôt ; non prouvé contre une réécriture complète »."""
    return """git tag -d cahier/2026-CD33-PC-001/archive-1 >/dev/null
    git reset -q --hard HEAD~1
    sed -i '0,/prix: 275000/s//prix: 160000/' $C/evaluation/evaluation.yaml
    git commit -qam 'Prix' && cahier archive $C >/dev/null"""


@attack(
    "four eyes",
    "review:donnees",
    "refused",
    attempt="""who "$NADIA_N" "$NADIA_E"; cahier review approve $D --role donnees --comment Vu""",
)
def backdated_self_edit():
    """Tries: Nadia changes article 8 in a commit **backdated** to 2020 (author and
    committer dates set with ``GIT_AUTHOR_DATE`` / ``GIT_COMMITTER_DATE``: before her own
    approval of 2026), then approves: a rule « commits since her last approval » computed
    with dates would skip it.
    Promise (four-eyes): the commits that touched the item are found in the history
    (topology), not by their declared dates: refused (code 2)."""
    return """who "$NADIA_N" "$NADIA_E" && edit8 1
    GIT_AUTHOR_DATE='2020-01-02T10:00:00+0100' GIT_COMMITTER_DATE='2020-01-02T10:00:00+0100' \\
        git commit -qam 'Réversibilité'
    who "$BUYER_N" "$BUYER_E" """


@attack("record content", "review:donnees", ("refused", "reported"), why="double|Paul Vasseur")
def record_with_duplicate_decision():
    """Tries: the buyer prepares « for Paul » a record that reads as a request for changes
    (``decision: request-changes`` near the top) but ends with a second ``decision:
    approve`` (YAML keeps the last key silently); Paul, having read the top, commits it
    himself.
    Promise: YAML is loaded safely: a duplicate key is an error naming file and line
    (refused), or the record is not taken as an approval."""
    return """edit8 1 && git commit -qam 'Réversibilité'
    f=$D/reviews/20991231T235959Z-donnees.yaml
    tool forge $D donnees "$PAUL_N" "$PAUL_E" $f request-changes
    echo 'decision: approve' >> $f
    who "$PAUL_N" "$PAUL_E" && git add -A && git commit -qm 'Revue données : modifications'
    who "$BUYER_N" "$BUYER_E" """


@attack("archive", "audit", "reported", why="étiquette")
def tag_retargeted_to_twin_commit():
    """Tries: a twin of the archive commit (same message, trailer, author and parent; the
    CSV of the evaluation altered) is made off-branch and the annotated tag re-created on
    it with its ``Commit:`` line updated: ``git checkout`` of the tag shows the altered
    evaluation, the branch still holds the original.
    Promise: the tag must designate the commit that added the archive on the branch, and
    record that commit: reported."""
    return """t=cahier/2026-CD33-PC-001/archive-1; c=$(git rev-parse "$t^{commit}")
    git switch -q --detach $c
    sed -i 's/Reconditionnement Aquitaine SCOP/Discount PC Distribution SAS/' \\
        $C/archive/1/evaluation.csv
    git commit -q --amend -a -C $c && twin=$(git rev-parse HEAD) && git switch -q main
    msg=$(git tag -l --format='%(contents)' $t | sed "s/$c/$twin/")
    git tag -d $t >/dev/null && git tag -a $t $twin -m "$msg" """


# ====================================================== the verifier's configuration
WITNESS_CONFIG = "witnesses:\n  - kind: fichier\n    target: {witness}\n"


@attack(
    "verifier's configuration",
    "status-cli",
    "reported",
    why="sign",
    verifier="signatures:\n  policy: signature-obligatoire\n",
)
def repository_loosens_signature_policy():
    """Tries: the verifier requires signed review commits; the buyer commits a
    ``cahier.yaml`` beside tender.yaml (``signatures: {policy: declaratif}``) and a
    ``cahier-organisation.yaml`` it points to, saying the same.
    Promise: a policy written in the repository can only tighten the verifier's, never
    loosen it: the unsigned approvals do not count and the status says why."""
    return """printf 'signatures:\\n  policy: declaratif\\norganisation: ../..\\n' > $D/cahier.yaml
    printf 'signatures:\\n  policy: declaratif\\n' > cahier-organisation.yaml
    git add -A && git commit -qm 'Configuration du dossier'"""


@attack(
    "witness",
    "audit-cli",
    "reported",
    verifier=WITNESS_CONFIG,
)
def rearchive_against_auditors_witness():
    """Tries: with the auditor's append-only witness file configured, a correction archive
    n° 2 is made; then the buyer resets the branch before it, deletes its tag, changes the
    price differently and archives n° 2 again (fully consistent in the repository).
    Promise: each archive's manifest digest and chain head are written to every witness;
    ``audit --verify`` compares them and reports the replaced n° 2."""
    return """export CAHIER_CONFIG=$VERIFIER
    sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
    git commit -qam 'Correction du prix de C' && cahier archive $C >/dev/null
    git tag -d cahier/2026-CD33-PC-001/archive-2 >/dev/null && git reset -q --hard HEAD~2
    sed -i '0,/prix: 275000/s//prix: 160000/' $C/evaluation/evaluation.yaml
    git commit -qam 'Correction du prix de C' && cahier archive $C >/dev/null"""


@attack(
    "witness",
    "audit-cli",
    ("reported", "declarative"),
    why="n° 2|n° 1, 2",
    verifier=WITNESS_CONFIG,
)
def witness_truncated():
    """Tries: after a correction archive n° 2 written to the auditor's witness, the last
    line of the witness file is removed (someone with access to the auditor's share).
    Promise: ``audit --verify`` prints which witnesses it reached and what each proves: an
    archive of the repository missing from a witness is reported, or at least named as
    not proven by it."""
    return """export CAHIER_CONFIG=$VERIFIER
    sed -i '0,/prix: 275000/s//prix: 274000/' $C/evaluation/evaluation.yaml
    git commit -qam 'Correction du prix de C' && cahier archive $C >/dev/null
    if [ -s "$WITNESS" ]; then sed -i '$d' "$WITNESS"; fi"""


@attack(
    "witness",
    "audit-cli",
    ("declarative", "reported"),
    why="non prouvé|témoin",
    verifier="{{}}\n",
)
def witness_declared_inside_repository():
    """Tries: the buyer rewrites the history (branch reset before archive n° 1, tag
    deleted, price changed) and, in the tender's ``cahier.yaml``, declares a « witness »
    file that the buyer controls (``temoin.log`` beside the repository); cahier
    archive writes the new n° 1 into it, and the audit reaches it.
    Promise: a witness proves something only when someone other than the buyer controls
    it: the audit still says « non prouvé contre une réécriture complète » (or reports),
    never « conformes aux témoins » on the buyer's own file alone."""
    return """git tag -d cahier/2026-CD33-PC-001/archive-1 >/dev/null
    git reset -q --hard HEAD~1
    printf 'witnesses:\\n  - kind: fichier\\n    target: %s\\n' "$(dirname "$PWD")/temoin.log" \\
        > $C/cahier.yaml
    sed -i '0,/prix: 275000/s//prix: 160000/' $C/evaluation/evaluation.yaml
    git add -A && git commit -qm 'Prix' && cahier archive $C >/dev/null
    test -s ../temoin.log"""


# ====================================================================== Git objects
@attack("Git objects", "status-cli", ("refused", "reported"), why="Paul Vasseur")
def record_smuggled_as_gitlink():
    """Tries: after Paul's objection, a **gitlink** (submodule entry, mode 160000) named
    like a newer donnees record is put in the tree, pointing at Nadia's approval commit:
    no blob, no file in the work tree, but a review path in ``git ls-tree`` that sorts
    after Paul's record.
    Promise: records are read fail-closed: ``cahier review status`` refuses in French or
    Paul's objection stands (named); no traceback."""
    return """objection
    n=$(git log --format=%H --author="$NADIA_E" -1)
    git update-index --add --cacheinfo 160000,$n,$D/reviews/20991231T235959Z-donnees.yaml
    git commit -qm 'Revue'"""


# =================================================================== numbers
EVALUATE = "cahier evaluate $C"


@attack("numbers", "audit", "refused", attempt=EVALUATE, why=r"evaluation\.yaml")
def price_overflowing_exponent():
    """Tries: ``prix: 2.62e+309`` — finite-looking decimal that YAML parses to +inf.
    Promise: NaN and infinities refused with a French message naming file and line."""
    return """sed -i '0,/prix: 262000/s//prix: 2.62e+309/' $C/evaluation/evaluation.yaml
    git commit -qam prix"""


@attack(
    "numbers",
    "audit",
    "refused",
    attempt=EVALUATE,
    why=r"evaluation\.yaml",
)
def finite_inputs_infinite_total():
    """Tries: BPU line ``quantite: 1.0e+200`` × ``prixUnitaire: 1.0e+200``: each finite, the
    offer's total is +inf.
    Promise: every amount used (including computed totals) is finite; refused in French
    naming the file (no ``Infinity`` written, no traceback)."""
    return """sed -i '0,/quantite: 600, prixUnitaire: 310/s//quantite: 1.0e+200, prixUnitaire: 1.0e+200/' \\
        $C/evaluation/evaluation.yaml
    git commit -qam lignes"""


@attack("numbers", "audit", "refused", attempt=EVALUATE, why=r"evaluation\.yaml")
def price_huge_integer():
    """Tries: ``prix:`` a 400-digit integer (a Python int, exact; ``float()`` of it raises
    OverflowError).
    Promise: refused with a French message naming file and line, no traceback."""
    return """big=1$(printf '0%.0s' $(seq 400))
    sed -i "0,/prix: 262000/s//prix: $big/" $C/evaluation/evaluation.yaml
    git commit -qam prix"""


@attack("numbers", "audit", "refused", attempt=EVALUATE, why=r"evaluation\.yaml")
def price_as_infinity_string():
    """Tries: ``prix: "Infinity"`` — a string that lax number parsers (``float()``,
    pydantic in lax mode) turn into +inf.
    Promise: a non-numeric price is refused in French, naming file and line."""
    return """sed -i '0,/prix: 262000/s//prix: "Infinity"/' $C/evaluation/evaluation.yaml
    git commit -qam prix"""


@attack("numbers", "audit", "refused", attempt=EVALUATE, why=r"evaluation\.yaml")
def note_nan():
    """Tries: ``note: .NaN`` on a qualitative criterion (NaN compares false with the scale
    bounds, so a « note hors échelle » test written as ``note < min or note > max`` lets
    it through).
    Promise: NaN refused with a French message naming file and line."""
    return """sed -i '0,/"3.1": {note: 4,/s//"3.1": {note: .NaN,/' $C/evaluation/evaluation.yaml
    git commit -qam note"""


# =================================================================== harness


def _cli(clone: Path, args: list[str], config: Path | None) -> tuple[int, str]:
    env = corpus._env(**({"CAHIER_CONFIG": str(config)} if config else {}))
    proc = subprocess.run(
        [sys.executable, "-m", "cahier", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=240,
    )
    # one line: the CLI wraps its French text at the terminal's width
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def _audit_cli(clone: Path, config: Path | None) -> tuple[str, str]:
    """``cahier audit $C --verify``: exit 2 refused, 1 reported; 0 with « non prouvé »
    declarative (unproven against a complete rewrite), else ok."""
    code, out = _cli(clone, ["audit", corpus.CD33, "--verify", "--sans-controles"], config)
    tail = out[-600:]
    assert "Traceback" not in out, out
    if code == 2:
        return "refused", out
    if code == 1:
        return "reported", out
    return ("declarative" if "non prouvé" in out else "ok"), tail


def _status_cli(clone: Path, config: Path | None) -> tuple[str, str]:
    """``cahier review status $D``: the DATA-REV-01 line decides (approved or not)."""
    code, out = _cli(clone, ["review", "status", corpus.WEB, "--no-diff"], config)
    assert "Traceback" not in out, out
    if code == 2:
        return "refused", out
    line = next((ln for ln in re.split(r"(?=\[[a-zé ]+\] )", out) if "DATA-REV-01" in ln), out)
    return ("ok" if line.startswith("[approuvé]") else "reported"), line


def _verdict(clone: Path, check: str, config: Path | None = None) -> tuple[str, str]:
    from tasks.errors import InputError

    if check == "audit-cli":
        return _audit_cli(clone, config)
    if check == "status-cli":
        return _status_cli(clone, config)
    try:
        got, why = corpus.verdict(clone, check)
    except InputError as exc:  # fail closed with a French message: a refusal
        return "refused", str(exc)
    if got == "ignored" and "modifications demandées par" in why:
        got = "reported"  # the objection stands, named with its referent
    return got, why


RESULTS: dict[str, tuple[str, tuple[str, ...], str]] = {}


def _run(template: Path, tmp_path: Path, a: Attack) -> tuple[str, str]:
    clone = corpus._clone(template, tmp_path)
    config = None
    head = EXTRA
    if a.verifier:
        witness = tmp_path / "auditeur" / "temoin.log"
        witness.parent.mkdir()
        config = tmp_path / "auditeur" / "config.yaml"
        config.write_text(a.verifier.format(witness=witness), encoding="utf-8")
        head += f"export VERIFIER='{config}' WITNESS='{witness}'\n"
    proc = corpus._bash(clone, head + a.steps)
    assert proc.returncode == 0, f"mise en place de {a.id} : {proc.stdout}{proc.stderr}"
    if a.attempt:
        att = corpus._bash(clone, head + a.attempt)
        out = (att.stderr + att.stdout).strip()
        if att.returncode == 2:
            assert "Traceback" not in out, out
            return "refused", out
        got, why = _verdict(clone, a.check, config)
        return got, f"tentative acceptée (code {att.returncode}) : {out[-400:]} ; {why}"
    return _verdict(clone, a.check, config)


def _params() -> list:
    out = []
    for a in ATTACKS:
        marks = [pytest.mark.xfail(strict=True, reason=a.defect)] if a.defect else []
        out.append(pytest.param(a, id=a.id, marks=marks))
    return out


@pytest.mark.parametrize("a", _params())
def test_fresh_attack(template: Path, tmp_path: Path, a: Attack):
    got, why = _run(template, tmp_path, a)
    RESULTS[a.id] = (a.klass, a.accept, got)
    assert got in a.accept, f"{got} : {why}"
    if got in ("reported", "refused"):
        assert re.search(r"[éèàçùêâô«]|\b(le|la|du|des|est)\b", why), (
            f"message non français : {why}"
        )
    if a.why:
        assert re.search(a.why, why), f"motif attendu /{a.why}/ absent : {why}"


def test_fresh_corpus_figures(capsys: pytest.CaptureFixture[str]):
    """≥ 10 fresh attacks, all different, each saying what it tries and the promise;
    prints detected / attempted (after the attacks, outside pytest's capture)."""
    assert len(ATTACKS) >= 10
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)
    assert len({a.steps for a in ATTACKS}) == len(ATTACKS)
    assert all("Tries:" in a.doc and "Promise" in a.doc for a in ATTACKS)
    assert all("ok" not in a.accept for a in ATTACKS)
    done = [RESULTS[a.id] for a in ATTACKS if a.id in RESULTS]
    detected = sum(1 for _k, acc, got in done if got in acc)
    missed = [a.id for a in ATTACKS if a.id in RESULTS and RESULTS[a.id][2] not in a.accept]
    lines = [
        f"attaques nouvelles (regard neuf) : {detected}/{len(done)} détectées, refusées ou "
        f"montrées comme déclaratives ({len({a.klass for a in ATTACKS})} classes)",
    ]
    if missed:
        lines.append("non détectées (xfail strict, défauts à corriger) : " + ", ".join(missed))
    with capsys.disabled():
        print("\n" + "\n".join(lines))
