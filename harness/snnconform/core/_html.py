"""conformance.html: one self-contained page to browse a results document.

It shows the summary, the failed checks, the implementations, the invariant × implementation
matrix and, for every case with a disagreement, the case's operations, every implementation's
answer side by side with the expectation (and the first difference's JSON pointer), and a
hex/text view of the files in the case's folder. Filters by implementation, invariant and
outcome are plain JavaScript. Everything is inline and a Content-Security-Policy forbids any
network access, so the file can be attached to a CI run and opened anywhere.

The core stays generic: the files shown are whatever ``<corpus>/cases/<case id>/`` holds (the
corpus layout of fixtures/README.md; the regression corpus has the same layout), capped in
size, without knowing what they mean.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from snnconform.core._cases import Case

# Caps that keep the page small even when an implementation fails every case.
MAX_CASES = 200          # cases shown in detail; the rest are counted
MAX_FILES = 8            # files shown per case
MAX_FILE_BYTES = 8192    # bytes shown per file (the page says how many the file has)
CASE_FOLDER = "cases"    # <corpus>/cases/<id>/ holds a case's files


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _json(value: Any) -> str:
    """Compact JSON; a list one element a line (operations, results) so answers line up."""
    def one(item: Any) -> str:
        return json.dumps(item, ensure_ascii=False, allow_nan=True)

    if isinstance(value, list) and value:
        return "[\n  " + ",\n  ".join(one(item) for item in value) + "\n]"
    return one(value)


def _case_folder(corpora: Sequence[Path], case_id: str) -> Path | None:
    """``<corpus>/cases/<case_id>/`` of the first corpus that has it."""
    for corpus in corpora:
        base = (corpus / CASE_FOLDER).resolve()
        folder = (base / case_id).resolve()
        if base in folder.parents and folder.is_dir():  # an id must not climb out
            return folder
    return None


def case_files(corpora: Sequence[Path], case_id: str) -> list[dict[str, Any]]:
    """The first bytes of each file under ``<corpus>/cases/<case_id>/``, for the hex view; the
    corpora are the generated corpus and the regression corpus."""
    folder = _case_folder(corpora, case_id)
    if folder is None:
        return []
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file())[:MAX_FILES]:
        with path.open("rb") as handle:
            head = handle.read(MAX_FILE_BYTES)
        files.append({"name": path.relative_to(folder).as_posix(), "size": path.stat().st_size,
                      "b64": base64.b64encode(head).decode("ascii")})
    return files


# ----------------------------------------------------------------------------- the sections


def _summary(doc: Mapping[str, Any]) -> str:
    status = str(doc.get("status", "?"))
    corpus = ", ".join(f"{k} {v}" for k, v in (doc.get("corpus") or {}).items())
    env = doc.get("environment") or {}
    merged = env.get("merged_from")
    parts = [
        f'<p><span class="status {_e(status)}" id="status">{_e(status.upper())}</span> '
        f"spec_version {_e(doc.get('spec_version'))} · protocol {_e(doc.get('protocol_version'))}"
        f" · corpus: {_e(corpus)}</p>",
    ]
    if merged:
        parts.append(f"<p>Merged from {len(merged)} shard(s): {_e(', '.join(merged))}</p>")
    checks = doc.get("failed_checks") or []
    items = "".join(f"<li>{_e(c)}</li>" for c in checks) or "<li>None.</li>"
    parts.append(f'<h2>Failed checks</h2><ul id="checks">{items}</ul>')
    return "\n".join(parts)


_COLUMNS = ("cases", "agreed", "disagreed", "crashed", "timed_out", "skipped", "known_divergences")


def _implementations(doc: Mapping[str, Any]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in ("implementation", "version", *_COLUMNS,
                                                  "build", "unit tests", "cases/s"))
    rows = []
    for name, entry in (doc.get("implementations") or {}).items():
        version = entry.get("version") or ("-" if entry.get("available") else "not available")
        cells = [name, version, *(entry.get(c, 0) for c in _COLUMNS),
                 (entry.get("build") or {}).get("status"),
                 (entry.get("unit_tests") or {}).get("status"), entry.get("cases_per_second", 0)]
        rows.append(f'<tr data-impl="{_e(name)}">' + "".join(f"<td>{_e(c)}</td>" for c in cells)
                    + "</tr>")
    return (f'<h2>Implementations</h2><table id="impls"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _matrix(doc: Mapping[str, Any], names: Sequence[str]) -> str:
    head = "".join(f'<th data-impl="{_e(n)}">{_e(n)}</th>' for n in names)
    rows = []
    for invariant, cells in (doc.get("matrix") or {}).items():
        out = []
        for name in names:
            cell = cells.get(name) or {"cases": 0, "agreed": 0}
            kind = "none" if not cell["cases"] else "ok" if cell["agreed"] == cell["cases"] else "bad"
            out.append(f'<td class="{kind}" data-impl="{_e(name)}" data-invariant="{_e(invariant)}">'
                       f"{_e(cell['agreed'])}/{_e(cell['cases'])}</td>")
        rows.append(f'<tr data-invariant="{_e(invariant)}"><th><code>{_e(invariant)}</code></th>'
                    + "".join(out) + "</tr>")
    return ('<h2>Invariant × implementation</h2><p class="hint">Cases agreed / cases covering the '
            "invariant. Click a red cell to filter the disagreements below.</p>"
            f'<table id="matrix"><thead><tr><th>invariant</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _filters(names: Sequence[str], invariants: Sequence[str], kinds: Sequence[str]) -> str:
    def select(ident: str, label: str, values: Iterable[str]) -> str:
        options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
        return (f'<label>{_e(label)} <select id="{ident}"><option value="">all</option>'
                f"{options}</select></label>")

    return ('<div id="filters">' + select("filter-impl", "implementation", names)
            + select("filter-invariant", "invariant", invariants)
            + select("filter-outcome", "outcome", kinds)
            + '<button type="button" id="filter-reset">reset</button>'
            + ' <span id="shown-count"></span></div>')



def _answer_parts(entry: Mapping[str, Any]) -> list[str]:
    """What went wrong, where (the first difference's JSON pointer), and the whole answer."""
    kind = str(entry.get("kind"))
    parts = [f'<span class="kind {_e(kind)}">{_e(kind)}</span>']
    if entry.get("known_divergence"):
        parts.append(f'<p class="reason">known divergence: {_e(entry["known_divergence"])}</p>')
    summary = str(entry.get("summary") or "")
    if entry.get("pointer"):
        # The pointer is into the expectation's diff, or the reference's when only that differs.
        versus = "the reference" if summary.startswith("vs reference") else "the expectation"
        parts.append(f'<p class="diff">first difference from {versus} at <code class="pointer">'
                     f'{_e(entry["pointer"])}</code>: expected <code class="exp">'
                     f'{_e(entry.get("expected"))}</code>, got <code class="got">'
                     f'{_e(entry.get("got"))}</code></p>')
        if "; vs reference" in summary:  # the reference differs elsewhere too
            parts.append(f'<p class="diff">vs reference {_e(entry.get("vs_reference"))}</p>')
    else:
        parts.append(f'<p class="diff">{_e((summary.splitlines() or [""])[0])}</p>')
    answer = entry.get("answer")
    if isinstance(answer, list):
        parts.append(f'<pre class="json">{_e(_json(answer))}</pre>')
    elif answer:
        parts.append(f"<p>{_e(answer)}</p>")
    if entry.get("stderr"):
        parts.append(f'<details><summary>stderr</summary><pre>{_e(entry["stderr"])}</pre></details>')
    parts.append(f'<p class="rerun"><code>{_e(entry.get("rerun", ""))}</code></p>')
    return parts


def _answer_cell(name: str, entry: Mapping[str, Any] | None, impl: Mapping[str, Any]) -> str:
    """One implementation's column of a case: its failure, or that it agreed (or did not run)."""
    if entry is None:
        word = "agreed" if impl.get("version") is not None else "not run"
        kind = word.replace(" ", "_")
        return (f'<td class="answer {kind}" data-impl="{_e(name)}">'
                f'<span class="kind {kind}">{word}</span></td>')
    return (f'<td class="answer {_e(entry.get("kind"))}" data-impl="{_e(name)}">'
            + "".join(_answer_parts(entry)) + "</td>")


def _case_card(case_id: str, entries: Sequence[Mapping[str, Any]], case: Case | None,
               impls: Mapping[str, Mapping[str, Any]]) -> str:
    """A case with a disagreement: its operations, every answer side by side, its files."""
    covers = list(case.covers) if case else list(entries[0].get("covers") or [])
    by_impl = {str(e["implementation"]): e for e in entries}
    data = [[e["implementation"], e["kind"]] for e in entries]
    head = "".join(f'<th data-impl="{_e(n)}">{_e(n)}</th>' for n in impls)
    if case is not None:
        expected = _json(list(case.expect.results))
        expected_cell = f'<td class="expected"><pre class="json">{_e(expected)}</pre></td>'
        ops = (f"<details open><summary>operations ({len(case.ops)})</summary>"
               f'<pre class="json ops">{_e(_json(list(case.ops)))}</pre></details>')
        about = f' <span class="klass">{_e(case.klass)}</span>'
    else:
        expected_cell = '<td class="expected"><p>(the case is not in the corpus)</p></td>'
        ops = f"<p>operations: {_e(', '.join(entries[0].get('operations') or []))}</p>"
        about = ""
    cells = "".join(_answer_cell(n, by_impl.get(n), impls[n]) for n in impls)
    return (f'<article class="case" id="case-{_e(case_id)}" data-case="{_e(case_id)}" '
            f'data-invariants="{_e(json.dumps(covers))}" data-entries="{_e(json.dumps(data))}">'
            f"<h3><code>{_e(case_id)}</code>{about}</h3>"
            f"<p>covers: {_e(', '.join(covers) or '(none: a valid case)')}</p>{ops}"
            f'<table class="side"><thead><tr><th>expected (corpus)</th>{head}</tr></thead>'
            f"<tbody><tr>{expected_cell}{cells}</tr></tbody></table>"
            f'<div class="files" data-case="{_e(case_id)}"></div></article>')


def _disagreements(doc: Mapping[str, Any], cases: Mapping[str, Case] | None,
                   corpora: Sequence[Path]) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The case cards (at most MAX_CASES) and the files each card shows."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in doc.get("disagreements") or []:
        grouped.setdefault(str(entry["case"]), []).append(entry)
    impls = doc.get("implementations") or {}
    cards, files = [], {}
    for case_id, entries in list(grouped.items())[:MAX_CASES]:
        cards.append(_case_card(case_id, entries, (cases or {}).get(case_id), impls))
        files[case_id] = case_files(corpora, case_id)
    if not grouped:
        cards.append("<p>None: every implementation agreed on every case.</p>")
    if len(grouped) > MAX_CASES:
        cards.append(f'<p class="more">{len(grouped) - MAX_CASES} more case(s) with disagreements '
                     "are not shown here: bench_transfer.json lists them all.</p>")
    return "\n".join(cards), files


def render_html(doc: Mapping[str, Any], cases: Mapping[str, Case] | None = None,
                corpora: Sequence[Path] = ()) -> str:
    """The whole page. ``cases`` (by id) give the operations and expectations; ``corpora`` are
    the folders whose ``cases/<id>/`` files are shown. Without them less is shown."""
    names = list(doc.get("implementations") or {})
    invariants = list(doc.get("matrix") or {})
    kinds = sorted({str(d.get("kind")) for d in doc.get("disagreements") or []})
    cards, files = _disagreements(doc, cases, corpora)
    payload = json.dumps(files).replace("<", "\\u003c")  # no "</script>" inside the script
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance report: {_e(str(doc.get("status", "?")).upper())}</title>
<style>{_CSS}</style></head>
<body>
<h1>Conformance report</h1>
{_summary(doc)}
{_implementations(doc)}
{_matrix(doc, names)}
<h2 id="disagreements-title">Disagreements</h2>
{_filters(names, invariants, kinds)}
<section id="disagreements">
{cards}
</section>
<p class="hint">Generated by snnconform from bench_transfer.json; do not edit.</p>
<script type="application/json" id="snn-files">{payload}</script>
<script>{_JS}</script>
</body></html>
"""


def write_html(path: Path, doc: Mapping[str, Any], cases: Sequence[Case] | None,
               corpora: Sequence[Path]) -> None:
    by_id = {case.id: case for case in cases} if cases is not None else None
    path.write_text(render_html(doc, by_id, corpora), "utf-8")


# ------------------------------------------------------------------- inline style and script

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
h1 { margin: 0 0 .3em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
code, pre { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f6f8fa; padding: .5em; overflow: auto; max-height: 24em; margin: .3em 0; }
pre.json { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .5em; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
.status { font-weight: bold; padding: .1em .6em; border-radius: .3em; color: #fff; }
.status.pass { background: #1a7f37; } .status.fail { background: #cf222e; }
#matrix td { text-align: center; font-variant-numeric: tabular-nums; }
#matrix td.ok { background: #dafbe1; } #matrix td.none { color: #8c959f; }
#matrix td.bad { background: #ffebe9; cursor: pointer; font-weight: bold; }
#filters { position: sticky; top: 0; background: #fff; padding: .5em 0; z-index: 1;
           border-bottom: 1px solid #d0d7de; }
#filters label { margin-right: 1em; }
.case { border: 1px solid #d0d7de; border-radius: .4em; padding: .2em 1em .8em; margin: 1em 0; }
.case h3 { margin: .5em 0 .2em; } .klass { font-weight: normal; color: #57606a; }
.side { width: 100%; table-layout: fixed; } .side td { overflow-wrap: anywhere; }
.kind { font-weight: bold; } .kind.agreed { color: #1a7f37; } .kind.not_run { color: #8c959f; }
.kind.disagreed, .kind.crashed, .kind.malformed, .kind.errored, .kind.timed_out,
.kind.skipped { color: #cf222e; } .kind.known { color: #9a6700; }
.side td.focus, .side th.focus { outline: 3px solid #0969da; outline-offset: -3px; }
code.exp { background: #dafbe1; } code.got { background: #ffebe9; }
.files details { margin: .3em 0; } .files button { margin-right: .3em; }
.files button[aria-pressed="true"] { font-weight: bold; }
.hint { color: #57606a; }
[hidden] { display: none !important; }
"""

_JS = r"""
(function () {
  "use strict";
  var files = JSON.parse(document.getElementById("snn-files").textContent);

  function bytesOf(b64) {
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function hex2(b) { return (b < 16 ? "0" : "") + b.toString(16); }
  function hexView(bytes) {
    var lines = [];
    for (var off = 0; off < bytes.length; off += 16) {
      var cells = [], text = "";
      for (var j = 0; j < 16; j++) {
        if (off + j < bytes.length) {
          var b = bytes[off + j];
          cells.push(hex2(b));
          text += (b >= 32 && b < 127) ? String.fromCharCode(b) : ".";
        } else { cells.push("  "); }
      }
      var offset = ("0000000" + off.toString(16)).slice(-8);
      lines.push(offset + "  " + cells.slice(0, 8).join(" ") + "  " + cells.slice(8).join(" ")
                 + "  |" + text + "|");
    }
    return lines.join("\n");
  }
  function textView(bytes) { return new TextDecoder("utf-8").decode(bytes); }

  function fileView(file) {
    var box = document.createElement("details"), summary = document.createElement("summary");
    var shown = bytesOf(file.b64), pre = document.createElement("pre");
    summary.textContent = file.name + " (" + file.size + " bytes" +
      (shown.length < file.size ? ", first " + shown.length + " shown" : "") + ")";
    box.className = "file";
    box.setAttribute("data-file", file.name);
    box.appendChild(summary);
    ["hex", "text"].forEach(function (mode) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = mode;
      button.setAttribute("data-view", mode);
      button.addEventListener("click", function () { show(mode); });
      box.appendChild(button);
    });
    pre.className = "bytes";
    box.appendChild(pre);
    function show(mode) {
      pre.textContent = mode === "hex" ? hexView(shown) : textView(shown);
      box.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-view") === mode));
      });
    }
    show("hex");
    return box;
  }
  document.querySelectorAll(".files").forEach(function (holder) {
    var list = files[holder.getAttribute("data-case")] || [];
    if (!list.length) { return; }
    var title = document.createElement("p");
    title.textContent = "files of the case (hex / text):";
    holder.appendChild(title);
    list.forEach(function (file, index) {
      var view = fileView(file);
      view.open = index === 0;
      holder.appendChild(view);
    });
  });

  var impl = document.getElementById("filter-impl");
  var invariant = document.getElementById("filter-invariant");
  var outcome = document.getElementById("filter-outcome");
  function apply() {
    var i = impl.value, v = invariant.value, o = outcome.value, shown = 0, total = 0;
    document.querySelectorAll("article.case").forEach(function (card) {
      var entries = JSON.parse(card.getAttribute("data-entries"));
      var covers = JSON.parse(card.getAttribute("data-invariants"));
      var match = (!v || covers.indexOf(v) >= 0) && entries.some(function (e) {
        return (!i || e[0] === i) && (!o || e[1] === o);
      });
      card.hidden = !match;
      total += 1;
      shown += match ? 1 : 0;
    });
    document.querySelectorAll("#matrix tbody tr").forEach(function (row) {
      row.hidden = Boolean(v) && row.getAttribute("data-invariant") !== v;
    });
    document.querySelectorAll("#matrix [data-impl]").forEach(function (el) {
      el.hidden = Boolean(i) && el.getAttribute("data-impl") !== i;
    });
    document.querySelectorAll(".side [data-impl]").forEach(function (el) {
      el.classList.toggle("focus", Boolean(i) && el.getAttribute("data-impl") === i);
    });
    document.getElementById("shown-count").textContent =
      "showing " + shown + " of " + total + " case(s)";
  }
  [impl, invariant, outcome].forEach(function (s) { s.addEventListener("change", apply); });
  document.getElementById("filter-reset").addEventListener("click", function () {
    impl.value = invariant.value = outcome.value = "";
    apply();
  });
  document.querySelectorAll("#matrix td.bad").forEach(function (cell) {
    cell.addEventListener("click", function () {
      impl.value = cell.getAttribute("data-impl");
      invariant.value = cell.getAttribute("data-invariant");
      outcome.value = "";
      apply();
      document.getElementById("disagreements-title").scrollIntoView();
    });
  });
  apply();
}());
"""
