"""The portfolio report as a person reads it: a self-contained French HTML page and the
indicators as French table rows (:mod:`tasks.award.portfolio` computes them).

Charts are drawn with plotly (its JavaScript inlined once: no network when the page is
opened), each one a named ``<figure>`` followed by its data table (RGAA 1.1 and 1.8).
Numbers, percentages and dates are written the French way by :mod:`tasks.fmt` (Babel,
``fr_FR``); the targets and the plans that have ended come from
``clause_library/law.yaml`` through the :class:`~tasks.award.portfolio.Portfolio`.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from tasks import fmt

from .portfolio import Portfolio, result_groups

__all__ = ["indicator_rows", "to_html"]

_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}"
    "table{border-collapse:collapse;margin:1rem 0 2rem}caption{text-align:left;"
    "font-weight:bold;padding:.3rem 0}th,td{border:1px solid #999;padding:.25rem .5rem;"
    "text-align:left}</style>"
)
_TITLE = "Achats numériques responsables — rapport de portefeuille"


def _fr(x: float | None, unit: str = "") -> str:
    """``12 345,5 %`` — one decimal, French separators (Babel); « — » when unknown."""
    if x is None:
        return "—"
    s = fmt.number(x, 1)
    return f"{s}\u00a0{unit}" if unit else s


def _day(iso: str | None) -> str:
    """``30/06/2025`` from an ISO date (the text itself when it is not one)."""
    if not iso:
        return ""
    try:
        return fmt.date_short(dt.date.fromisoformat(iso))
    except ValueError:
        return iso


def indicator_rows(p: Portfolio) -> list[dict[str, Any]]:
    """The indicators as French table rows (Prefect table artifact, CSV of indicators)."""
    return [
        {
            "indicateur": i.label,
            "valeur": _fr(i.value, i.unit),
            "dossiers": f"{i.count}/{i.total}",
            "cible": _fr(i.target, "%") if i.target is not None else "",
            "écart à la cible": _fr(i.value - i.target, "pts")
            if i.target is not None and i.value is not None
            else "",
            "source": i.source or "",
        }
        for i in p.indicators
    ]


def _table(headers: list[str], rows: list[list[Any]], caption: str) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _chart(fig: Any, n: int, first: bool, table: str) -> str:
    """A plotly chart as a named figure (WCAG 1.1.1 / RGAA 1.1): ``<figure>`` named by
    its caption (the chart's title), pointing to the data table ``table`` that follows it
    (RGAA critère 1.8: the data are given as text)."""
    title = fig.layout.title.text or f"Graphique {n}"
    body = fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False})
    return (
        f'<figure class="graphique" aria-labelledby="graphique-{n}">'
        f'<figcaption id="graphique-{n}">{html.escape(title)}</figcaption>{body}'
        f"<p>Données du graphique : tableau « {html.escape(table)} » ci-dessous.</p></figure>"
    )


def to_html(p: Portfolio) -> str:
    """Self-contained French HTML page: charts (plotly, JS inlined once) and their tables."""
    ok = [t for t in p.tenders if t.message is None]
    parts = [
        _chart(_shares_figure(p), 1, True, "Indicateurs du portefeuille"),
        _table(
            ["Indicateur", "Valeur", "Dossiers", "Cible", "Écart", "Source"],
            [list(r.values()) for r in indicator_rows(p)],
            "Indicateurs du portefeuille",
        ),
        _chart(_weights_figure(ok), 2, False, "Marchés du portefeuille"),
        _tenders_table(ok),
        *_review_parts(ok),
        *_results_html(p),
    ]
    bad = [t for t in p.tenders if t.message]
    if bad:
        parts.append(
            _table(
                ["Dossier", "Motif"],
                [[t.dossier, t.message] for t in bad],
                "Dossiers non pris en compte",
            )
        )
    notes = [[t.dossier, n] for t in ok for n in t.notes]
    if notes:
        parts.append(_table(["Dossier", "Réserve"], notes, "Réserves sur les données"))
    period = f" lancés depuis le {_day(p.since)}" if p.since else ""
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_TITLE}</title>{_STYLE}</head><body><header><h1>{_TITLE}</h1></header><main>"
        f"<p>{len(ok)} marché(s){period} ; dossiers de <code>{html.escape(p.root)}</code> ; "
        f"produit le {html.escape(p.generated)}, mesuré au {_day(p.date)}. "
        f"{_targets_sentence(p)}</p>" + "\n".join(parts) + "</main></body></html>\n"
    )


def _shares_figure(p: Portfolio) -> Any:
    """Horizontal bars: each share of the portfolio, with the target in force as a mark."""
    import plotly.graph_objects as go

    shares = [i for i in p.indicators if i.unit == "%" and i.value is not None]
    fig = go.Figure()
    fig.add_bar(
        y=[i.label for i in shares],
        x=[i.value for i in shares],
        orientation="h",
        name="Portefeuille",
        marker_color="#000091",
        text=[_fr(i.value, "%") for i in shares],
        textposition="auto",
    )
    targets = [i for i in shares if i.target is not None]
    fig.add_scatter(
        y=[i.label for i in targets],
        x=[i.target for i in targets],
        mode="markers",
        name="Cible en vigueur",
        marker={"symbol": "line-ns-open", "size": 26, "color": "#e1000f", "line": {"width": 3}},
    )
    fig.update_layout(
        title="Part des marchés (%) et cibles en vigueur",
        xaxis={"range": [0, 105], "title": "% des marchés"},
        yaxis={"autorange": "reversed"},
        height=120 + 42 * len(shares),
        margin={"l": 420},
        separators=", ",
    )
    return fig


def _weights_figure(ok: list[Any]) -> Any:
    """Grouped bars: the environmental and social criteria's weights of each contract."""
    import plotly.graph_objects as go

    fig = go.Figure()
    tenders = [t.tender for t in ok]
    for name, weights, color in (
        ("Critère environnemental", [t.env_weight for t in ok], "#18753c"),
        ("Critère social", [t.social_weight for t in ok], "#b34000"),
    ):
        fig.add_bar(x=tenders, y=weights, name=name, marker_color=color)
    fig.update_layout(
        title="Poids des critères responsables par marché (% de la note)",
        barmode="group",
        yaxis={"title": "% de la note"},
        separators=", ",
    )
    return fig


def _tenders_table(ok: list[Any]) -> str:
    """One row per contract: launch date, responsible criteria, social clause, RGAA."""
    return _table(
        [
            "Consultation",
            "Objet",
            "Lancement",
            "Critère env. (%)",
            "Critère social (%)",
            "Clause sociale",
            "RGAA",
            "Revues",
        ],
        [
            [
                t.tender,
                t.objet[:90],
                _day(t.dateLancement),
                _fr(t.env_weight),
                _fr(t.social_weight),
                "oui" if t.social_clause else "non",
                ("oui" if t.rgaa else "non") if t.rgaa_applicable else "sans objet",
                t.reviews,
            ]
            for t in ok
        ],
        "Marchés du portefeuille",
    )


def _review_parts(ok: list[Any]) -> list[str]:
    """Histogram of the referents' review delays and its table (nothing without reviews)."""
    import plotly.graph_objects as go

    days = [d for t in ok for d in t.review_days]
    if not days:
        return []
    fig = go.Figure(go.Histogram(x=days, marker_color="#6a6af4", name="revues"))
    fig.update_layout(
        title="Délai de revue par les référents (jours)",
        xaxis={"title": "jours entre le commit revu et la décision"},
        yaxis={"title": "revues"},
        separators=", ",
    )
    per_day: dict[int, int] = {}
    for d in days:
        per_day[int(d)] = per_day.get(int(d), 0) + 1
    return [
        _chart(fig, 3, False, "Délai de revue par les référents"),
        _table(
            ["Délai (jours révolus)", "Revues"],
            [[k, v] for k, v in sorted(per_day.items())],
            "Délai de revue par les référents",
        ),
    ]


def _targets_sentence(p: Portfolio) -> str:
    """French sentence naming the targets in force at the report's date and their source;
    without any, the national plans that have ended (law.yaml), said to be over."""
    if not p.targets:
        ended = "".join(
            f" ({html.escape(e['plan'])} a pris fin le {_day(e['au'])} : ses cibles, "
            + " ; ".join(html.escape(c) for c in e["cibles"])
            + ", ne sont plus en vigueur)"
            for e in p.ended_plans
        )
        return (
            f"Aucune cible nationale en vigueur au {_day(p.date)} dans "
            f"clause_library/law.yaml{ended}."
        )
    items = "; ".join(
        f"{html.escape(t['libelle'])} ({html.escape(t['nature'])}, depuis le {_day(t['du'])}"
        + (f" jusqu'au {_day(t['au'])}" if t["au"] else "")
        + f" ; source : {html.escape(t['source'])})"
        for t in p.targets
    )
    return f"Cibles en vigueur au {_day(p.date)} (clause_library/law.yaml) : {items}."


def _results_html(p: Portfolio) -> list[str]:
    """Promised vs delivered: a chart (share of each commitment delivered) and its data
    tables (per commitment, per buyer, per clause family). Nothing without results."""
    import plotly.graph_objects as go

    rows = [(t, r) for t in p.tenders for r in t.results if r["atteint"] is not None]
    if not rows:
        return []
    labels = [f"{t.tender} — {r['libelle']}" for t, r in rows]
    ratio = [
        round(100 * (r["realise"] or 0) / r["promis"], 1) if r["promis"] else 100.0 for _, r in rows
    ]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=ratio,
        orientation="h",
        name="Réalisé (% de l'engagement)",
        marker_color=["#18753c" if r["atteint"] else "#ce0500" for _, r in rows],
        text=[_fr(v, "%") for v in ratio],
        textposition="auto",
    )
    fig.add_scatter(
        y=labels,
        x=[100] * len(rows),
        mode="markers",
        name="Engagement (100 %)",
        marker={"symbol": "line-ns-open", "size": 26, "color": "#000091", "line": {"width": 3}},
    )
    fig.update_layout(
        title=f"Engagements d'exécution : réalisé au {_day(p.date)}, en % de l'engagement",
        xaxis={"title": "% de l'engagement réalisé"},
        yaxis={"autorange": "reversed"},
        height=140 + 42 * len(rows),
        margin={"l": 420},
        separators=", ",
    )

    def sums(g: dict[str, Any]) -> str:
        return "; ".join(
            f"{_fr(d)} / {_fr(pr)} {unit}" for unit, (pr, d) in sorted(g["sommes"].items())
        )

    caption = f"Promis et réalisé par engagement, au {_day(p.date)}"
    parts = [
        _chart(fig, 4, False, caption),
        _table(
            ["Marché", "Engagement", "Famille", "Promis", "Réalisé", "Unité", "Tenu"],
            [
                [
                    t.tender,
                    r["libelle"],
                    r["famille"],
                    _fr(r["promis"]),
                    _fr(r["realise"]),
                    r["unite"],
                    "oui" if r["atteint"] else "non",
                ]
                for t, r in rows
            ],
            caption,
        ),
    ]
    for by, title in (("acheteur", "Acheteur"), ("famille", "Famille de clauses")):
        groups = result_groups(p, by)
        parts.append(
            _table(
                [title, "Engagements suivis", "Tenus", "Part tenue", "Réalisé / promis"],
                [
                    [g[by], g["engagements"], g["tenus"], _fr(g["part_tenus"], "%"), sums(g)]
                    for g in groups
                ],
                f"Résultats d'exécution par {title.lower()}",
            )
        )
    return parts
