#!/usr/bin/env python3
"""Execute the course notebooks with the tslab kernel and, optionally, write HTML reports.

    .venv/bin/python scripts/run_notebooks.py [--profile ci|full] [--html DIR] [NOTEBOOK ...]

Notebooks run in order (file name order), each in a fresh kernel, with the profile in the
GRU_PROFILE environment variable (default: full, the reference configuration). The first
failing cell stops the run with the notebook, the cell number, its first source line and the
error text. tslab reports errors as stderr text without `ename`/`traceback`, so the error text
is read from the failing cell's own outputs, never from a later cell.

With --html DIR: executed notebooks go to DIR/executed/, HTML reports to DIR/<name>.html,
an index to DIR/index.html, the offline MathJax to DIR/assets/, and DIR/manifest.json records
what each report should show (figures, equations) for the browser check.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
MATHJAX_SRC = ROOT / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
MATHJAX_REL = "assets/mathjax/tex-svg-full.js"
PROFILES = ("ci", "full")


class NotebookFailed(Exception):
    """A cell failed: says which notebook, which cell, and what went wrong."""


def cell_error_text(cell: nbformat.NotebookNode) -> str:
    """The error a cell reported: its error outputs, or else its stderr text (tslab's way)."""
    parts: list[str] = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": "))
            parts.extend(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.get("traceback", []))
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
    return "\n".join(p.rstrip() for p in parts if p.strip()) or "(the kernel reported an error but no error text)"


def execute(path: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every code cell of one notebook in a fresh tslab kernel; raise NotebookFailed on the first error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="tslab", timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    code_no = 0
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_no += 1
            started = time.time()
            try:
                client.execute_cell(cell, index)
                if cell.get("execution_count") is None:  # tslab reports none to nbclient here; number cells as run
                    cell.execution_count = code_no
            except (CellExecutionError, CellTimeoutError) as err:
                first = next((l for l in cell.source.splitlines() if l.strip()), "")
                reason = "timed out" if isinstance(err, CellTimeoutError) else "failed"
                raise NotebookFailed(
                    f"{path.name}: code cell {code_no} (cell index {index}) {reason}\n"
                    f"  source: {first[:120]}\n"
                    f"  error:\n    " + cell_error_text(cell).replace("\n", "\n    ")) from None
            print(f"  cell {code_no:>2} ok ({time.time() - started:5.1f} s)", file=sys.stderr, flush=True)
    return nb


def summary_of(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """Title (first heading) and one-line summary (first sentence after it) of a notebook."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = [l.strip() for l in cell.source.splitlines() if l.strip()]
        title = next((l.lstrip("# ") for l in lines if l.startswith("#")), "")
        prose = next((l for l in lines if not l.startswith("#")), "")
        sentence = re.split(r"(?<=[.!?])\s", prose, maxsplit=1)[0]
        return title, re.sub(r"[*_`$]", "", sentence)
    return "", ""


def figures_in(nb: nbformat.NotebookNode) -> int:
    """How many Plotly figures the executed notebook shows."""
    return sum(1 for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []) if PLOTLY_MIME in o.get("data", {}))


def equations_in(nb: nbformat.NotebookNode) -> int:
    """How many TeX spans ($...$ or $$...$$) the markdown holds."""
    count = 0
    for c in nb.cells:
        if c.cell_type == "markdown":
            text = re.sub(r"`[^`]*`", "", c.source)
            count += len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", text, flags=re.S))
    return count


def write_html(nb: nbformat.NotebookNode, name: str, out_dir: Path) -> Path:
    """Convert one executed notebook to an offline HTML report."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="gru", extra_template_basedirs=[str(ROOT / "scripts" / "nbconvert")])
    exporter.mathjax_url = MATHJAX_REL
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    target = out_dir / f"{name}.html"
    target.write_text(body, encoding="utf-8")
    return target


def write_index(entries: list[dict], out_dir: Path, profile: str) -> None:
    """reports/index.html: one line per notebook with its summary."""
    rows = "\n".join(
        f'<li><a href="{html.escape(e["html"])}">{html.escape(e["title"] or e["name"])}</a>'
        f' &mdash; {html.escape(e["summary"])} <small>({e["figures"]} charts, {e["size_kb"]:,} KB)</small></li>'
        for e in entries)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Gated Recurrent Units: course reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.5}}li{{margin:.5rem 0}}</style>
</head><body>
<h1>Gated Recurrent Units: course reports</h1>
<p>Each notebook executed with the tslab kernel in the <code>{html.escape(profile)}</code> profile
on {time.strftime('%Y-%m-%d %H:%M %Z')}. Everything here works offline.</p>
<ol>
{rows}
</ol>
</body></html>
"""
    (out_dir / "index.html").write_text(page, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/, then notebooks/solutions/)")
    ap.add_argument("--profile", choices=PROFILES, help="sizes to run at (default: $GRU_PROFILE or full)")
    ap.add_argument("--html", metavar="DIR", help="write executed notebooks and HTML reports here")
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds per cell (default: 1800 in ci, none in full)")
    args = ap.parse_args()

    profile = args.profile or os.environ.get("GRU_PROFILE", "full")
    if profile not in PROFILES:
        print(f"GRU_PROFILE={profile!r} is not one of {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    os.environ["GRU_PROFILE"] = profile  # the kernel inherits it
    timeout = args.timeout if args.timeout is not None else (1800 if profile == "ci" else -1)

    paths = [Path(p).resolve() for p in args.notebooks] or (
        sorted(NOTEBOOKS.glob("[0-9]*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("[0-9]*.ipynb")))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2

    out_dir = Path(args.html).resolve() if args.html else None
    if out_dir:
        (out_dir / "executed").mkdir(parents=True, exist_ok=True)
        (out_dir / "assets" / "mathjax").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MATHJAX_SRC, out_dir / MATHJAX_REL)

    entries: list[dict] = []
    for path in paths:
        print(f"[{profile}] executing {path.name}", file=sys.stderr, flush=True)
        started = time.time()
        try:
            nb = execute(path, None if timeout < 0 else timeout)
        except NotebookFailed as failure:
            print(f"\nNOTEBOOK FAILED: {failure}", file=sys.stderr)
            return 1
        print(f"[{profile}] {path.name} done in {time.time() - started:.1f} s", file=sys.stderr, flush=True)
        if out_dir:
            nbformat.write(nb, out_dir / "executed" / path.name)
            report = write_html(nb, path.stem, out_dir)
            title, summary = summary_of(nb)
            entries.append({"name": path.stem, "html": report.name, "title": title, "summary": summary,
                            "figures": figures_in(nb), "equations": equations_in(nb),
                            "size_kb": round(report.stat().st_size / 1024),
                            "seconds": round(time.time() - started, 1)})
    if out_dir:
        write_index(entries, out_dir, profile)
        (out_dir / "manifest.json").write_text(json.dumps({"profile": profile, "reports": entries}, indent=2))
        for e in entries:
            print(f"  {e['html']}: {e['size_kb']:,} KB, {e['figures']} charts, {e['equations']} equations",
                  file=sys.stderr)
        print(f"reports written to {out_dir}/index.html", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
