"""HTML pieces for pages drawn from a store: one self-contained file (inline CSS, figures as data: URIs).

The generic parts of every page — the CSS, the page shell (:func:`document`),
small writers (:func:`esc`, :func:`eq`, :func:`table`, :func:`code`,
:func:`note`, :func:`num` ...), the figure numbering (:class:`Figures`) — and
:func:`sweep_page`, the page of a sweep store. The tour's sections
(:mod:`statmech.tour`) are written with these pieces.
"""
from __future__ import annotations

import base64
import html
import json
import math
import re

import numpy as np

from statmech.report import _figures as figures
from statmech.report._figures import FigureOut

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --accent: #1f5fa8; --soft: #f5f7fa; --warn: #fff4e0; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.page { max-width: 1000px; margin: 0 auto; padding: 28px 28px 60px; }
header.top { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 18px; }
header.top h1 { margin: 0 0 4px; font-size: 30px; letter-spacing: -0.5px; }
header.top p { margin: 4px 0; color: var(--muted); }
.meta { font-size: 13.5px; color: var(--muted); }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px;
          margin: 18px 0 26px; }
nav.toc h2 { font-size: 15px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: 0.6px; color: var(--muted); }
nav.toc ol { margin: 0; padding-left: 22px; columns: 2; column-gap: 30px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section { margin: 0 0 40px; }
section > h2 { font-size: 23px; margin: 34px 0 8px; padding-top: 6px; border-top: 1px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 6px; }
p { margin: 8px 0; }
.eq { font-family: "Cambria Math", "STIX Two Math", "Latin Modern Math", Georgia, "Times New Roman", serif;
      font-size: 19px; text-align: center; margin: 14px 0; padding: 10px 12px; background: var(--soft);
      border-radius: 6px; overflow-x: auto; white-space: nowrap; }
.eq .tag { float: right; font-family: system-ui, sans-serif; font-size: 12px; color: var(--muted); }
.frac { display: inline-flex; flex-direction: column; vertical-align: middle; text-align: center; margin: 0 3px; }
.frac > span:first-child { border-bottom: 1px solid currentColor; padding: 0 3px; }
.frac > span:last-child { padding: 0 3px; }
i.v { font-style: italic; }
pre.code { background: #0f1720; color: #e6edf3; border-radius: 6px; padding: 12px 14px; overflow-x: auto;
           font: 13.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
pre.code .c { color: #8b98a9; }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
       padding: 0 3px; border-radius: 3px; }
pre.code code { background: none; padding: 0; }
figure { margin: 16px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 14px; color: var(--muted); margin-top: 6px; }
figcaption b { color: var(--ink); }
table { border-collapse: collapse; margin: 10px 0 16px; font-size: 14.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.vocab td:first-child, table.vocab td:nth-child(2) { font-weight: 600; }
.note { background: var(--warn); border-left: 4px solid #e69f00; padding: 8px 12px; border-radius: 4px;
        margin: 12px 0; font-size: 14.5px; }
.fail { background: #fdecee; border-left-color: #d1495b; }
.api dt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; margin-top: 10px; }
.api dd { margin: 2px 0 0 18px; color: var(--muted); font-size: 14.5px; }
footer { border-top: 1px solid var(--line); margin-top: 30px; padding-top: 12px; font-size: 13px; color: var(--muted); }
a { color: var(--accent); }
"""

# On load, the page checks its own images (for people and for the browser test):
# body[data-loaded] = "loaded/total"; a broken image is reported with console.error.
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = 0;
  images.forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { loaded += 1; }
    else { console.error("statmech report: image did not load: " + (img.id || img.alt)); }
  });
  document.body.setAttribute("data-loaded", loaded + "/" + images.length);
});
"""

# ------------------------------------------------------------------ small pieces
def esc(text) -> str:
    return html.escape(str(text), quote=True)


def frac(numerator: str, denominator: str) -> str:
    return f'<span class="frac"><span>{numerator}</span><span>{denominator}</span></span>'


def eq(body: str, tag: str = "") -> str:
    tag_html = f'<span class="tag">{esc(tag)}</span>' if tag else ""
    return f'<div class="eq">{tag_html}{body}</div>'


def code(text: str) -> str:
    lines = []
    for line in text.strip("\n").split("\n"):
        source, hash_, comment = line.partition("#")
        lines.append(esc(source) + (f'<span class="c">#{esc(comment)}</span>' if hash_ else ""))
    return '<pre class="code"><code>' + "\n".join(lines) + "</code></pre>"


def note(text: str, failed: bool = False) -> str:
    return f'<div class="note{" fail" if failed else ""}">{text}</div>'


def num(value, digits: int = 6) -> str:
    """A number with ``digits`` significant digits, written with a true minus sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):d}".replace("-", "−")
    return f"{float(value):.{digits}g}".replace("-", "−")


def big(value) -> str:
    """1000000 as 10⁶ (powers of ten), other numbers as :func:`num`."""
    exponent = math.log10(value) if value > 0 else 0.5
    if value >= 1e4 and float(exponent).is_integer():
        return "10" + str(int(exponent)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return num(value)


def rst(text: str) -> str:
    """A docstring line for HTML: ``literal`` and :role:`name` become code."""
    escaped = esc(text)
    escaped = re.sub(r":[a-z]+:`~?([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"``([^`]+)``", r"<code>\1</code>", escaped)


def rounded(p: float) -> str:
    """The seed's style of rounding a probability: 0.049, 1.2e-04."""
    return f"{p:.3f}" if p >= 1e-2 else f"{p:.1e}"


def table(header, rows, cls: str = "", numeric=()) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if k in numeric else f"<td>{c}</td>" for k, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Figures:
    """Numbers the figures of a page and keeps them for the data files."""

    def __init__(self):
        self.items: list[FigureOut] = []

    def html(self, figure: FigureOut) -> str:
        self.items.append(figure)
        number = len(self.items)
        encoded = base64.b64encode(figure.png).decode("ascii")
        size = f' width="{figure.width}" height="{figure.height}"' if figure.width else ""
        return (f'<figure id="fig-{figure.key}"><img id="img-{figure.key}" src="data:image/png;base64,{encoded}"'
                f'{size} alt="Figure {number}: {esc(figure.alt)}">'
                f"<figcaption><b>Figure {number}.</b> {figure.caption} "
                f'<a href="data/{figure.key}.nc">data (netCDF)</a></figcaption></figure>')


def sweep_page(info: dict, dataset, counts: dict, failures: list, store_name: str) -> tuple[str, list[FigureOut]]:
    """A page for any study store: the study, its status, a figure of every quantity against β, the failures."""
    figs = Figures()
    spec = info["spec"]
    body = [f'<header class="top"><h1>{esc(info["name"])}</h1>',
            f"<p>{esc(spec.get('description') or '')}</p>",
            f'<p class="meta">store <code>{esc(store_name)}</code> · created {esc(info["created"])} · statmech '
            f'{esc(info["statmech_version"])} · study hash <code>{esc(info["study_hash"][:12])}</code></p></header>',
            "<section><h2>Study</h2>", code(info["toml"]),
            table(["tasks", "done", "failed", "pending"],
                  [[num(sum(counts.values())), num(counts["done"]), num(counts["failed"]), num(counts["pending"])]],
                  numeric=(0, 1, 2, 3)), "</section>", "<section><h2>Results</h2>"]
    drawn = figures.sweep_figures(dataset)
    if drawn:
        body.extend(figs.html(f) for f in drawn)
    else:
        body.append(note("Nothing to draw: no quantity has a β axis with finished tasks."))
    body.append("</section>")
    if failures:
        body.append("<section><h2>Failed tasks</h2>")
        body.append(table(["grid point", "error"],
                          [[esc(json.dumps(c)), f"<code>{esc(e)}</code>"] for c, e in failures]))
        body.append("</section>")
    return document(f"statmech report: {info['name']}", "".join(body)), figs.items


def document(title: str, body: str) -> str:
    """The whole HTML file: ``title``, the CSS, ``body`` and the script that checks the images on load."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
            f'<body data-loaded="pending"><div class="page">{body}'
            '<footer>Made by statmech from stored results only; no network, no external files.</footer></div>'
            f"<script>{SCRIPT}</script></body></html>\n")
