#!/usr/bin/env python3
"""Execute the course notebooks with the tslab kernel and, optionally, write HTML reports.

    .venv/bin/python scripts/run_notebooks.py [--profile ci|full] [--html DIR] [--self-contained] [NOTEBOOK ...]

Notebooks run in order (file name order), each in a fresh kernel, with the profile in the
GRU_PROFILE environment variable (default: full, the reference configuration). Progress goes to
stdout: which notebook of how many, each cell as it starts, the text a cell prints once it has
run --echo-after seconds (default 10: training's batch and epoch lines with their ETA, as they
come), each cell's time, and a summary at the end (every notebook's time, the reports' sizes).

The first failing cell stops the run (exit 1) with the notebook, the cell number, its first source
line and the error text on stderr. tslab reports errors as stderr text without `ename`/`traceback`,
so the error text is read from the failing cell's own outputs, never from a later cell. A cell also
fails when, while or after it ran, the kernel reported an asynchronous error (a throw inside a timer
or callback, an unhandled promise rejection; scripts/tslab-kernel.js records them). A dead kernel or
a malformed .ipynb names the notebook (and the cell). SIGINT or SIGTERM shuts the kernel down
(no kernel or training is left running) and exits 130 or 143.

With --html DIR: executed notebooks go to DIR/executed/, HTML reports to DIR/<name>.html,
an index to DIR/index.html (profile, commit, build time and duration of each report), plotly.js
and the offline MathJax to DIR/assets/ (shared by all reports), and DIR/manifest.json records what
each report should show (figures, equations) for the browser check. With --self-contained each
report carries plotly.js and MathJax inline instead: one file that works alone (about 7 MB).
"""
from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from queue import Empty

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
MATHJAX_SRC = ROOT / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
MATHJAX_REL = "assets/mathjax/tex-svg-full.js"
PLOTLY_SRC = ROOT / "node_modules" / "plotly.js-dist-min" / "plotly.min.js"
PLOTLY_REL = "assets/plotly/plotly.min.js"
# lib/view/display.ts inlines plotly.js once per kernel into a chart's text/html (for classic Notebook and
# nbconvert): this script element. Reports share one copy in assets/ instead (see share_plotly).
PLOTLY_INLINE = re.compile(
    r'<script type="text/javascript">/\* plotly\.js [^*\n]*, inlined from npm plotly\.js-dist-min \*/\n.*?</script>',
    re.S)
PROFILES = ("ci", "full")
# Run silently in the kernel after each cell: the asynchronous errors recorded so far (and clears them).
# When timers are pending it waits for them (up to `wait_ms`), so an error thrown soon after a cell
# is charged to that cell.
ASYNC_PROBE = """{
  const errors: string[] = (globalThis as any)[Symbol.for("gru-course.kernel.asyncErrors")] ?? [];
  const deadline = Date.now() + %d;
  const timers = () => ((process as any).getActiveResourcesInfo?.() ?? []).filter((r: string) => r === "Timeout").length;
  while (Date.now() < deadline && timers() > 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setImmediate(r));
  process.stdout.write("%s" + JSON.stringify(errors.splice(0)) + "\\n");
}"""
PROBE_MARK = "@@gru-async-errors@@"


def say(text: str) -> None:
    """One progress line on stdout, at once (progress is not an error)."""
    print(text, flush=True)


def fmt_seconds(seconds: float) -> str:
    """12.3 s, 4m05s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


class NotebookFailed(Exception):
    """A cell failed: says which notebook, which cell, and what went wrong."""


class Stopped(BaseException):
    """The runner got SIGINT or SIGTERM: unwind (shutting the kernel down) and exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOPPING = False


def on_stop_signal(signum: int, _frame: object) -> None:
    """SIGINT/SIGTERM handler: raise Stopped in the main thread; later signals are ignored while we clean up."""
    global STOPPING
    STOPPING = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The interrupted cell's task ends with an error nobody reads; asyncio would print it as a traceback.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    raise Stopped(signum)


# lib/view/display.ts liveTextLine(): a progress line updated in place under the cell (update_display_data).
LIVE_LINE_PREFIX = "gru-progress-"


class LiveClient(NotebookClient):
    """A NotebookClient that echoes what a long cell prints to the terminal while it runs.

    Stream text of a cell is held back for its first `quiet_seconds`; once the cell has run that long,
    what it printed so far and everything after is shown at once, each line indented with a bar. Short
    cells stay two lines in the terminal (their output is in the report)."""

    quiet_seconds = 10.0

    def start_cell(self) -> None:
        """Reset the echo state; called before each cell."""
        self._started = time.time()
        self._held: list[tuple[str, str]] = []
        self._live = False
        self._partial = {"stdout": "", "stderr": ""}

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
        out = super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream":
            self._echo(msg["content"].get("name", "stdout"), msg["content"].get("text", ""))
        return out

    def _update_display_id(self, display_id, msg):  # type: ignore[no-untyped-def]
        """Also echo a live progress line (lib/view/display.ts liveTextLine: display_id gru-progress-*) as it changes."""
        super()._update_display_id(display_id, msg)
        if display_id.startswith(LIVE_LINE_PREFIX):
            text = str(msg["content"].get("data", {}).get("text/plain", ""))
            self._echo("stdout", text if text.endswith("\n") else text + "\n")

    def _echo(self, name: str, text: str) -> None:
        if PROBE_MARK in text:
            return
        if not self._live:
            self._held.append((name, text))
            if time.time() - self._started < self.quiet_seconds:
                return
            self._live = True
            held, self._held = self._held, []
            for n, t in held:
                self._write(n, t)
            return
        self._write(name, text)

    def _write(self, name: str, text: str) -> None:
        if STOPPING:  # the kernel's reaction to being shut down is not the cell's output
            return
        stream = sys.stderr if name == "stderr" else sys.stdout
        text = self._partial[name] + text
        *lines, self._partial[name] = text.split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1]  # a self-overwriting line: its last state
            if line.strip():
                stream.write(f"      | {line}\n")
        stream.flush()

    def finish_cell(self) -> None:
        """Flush a half line a live cell left."""
        if self._live:
            for name, rest in self._partial.items():
                if rest.strip():
                    self._write(name, "\n")

    async def async_async_errors(self, wait_ms: int) -> list[str]:
        """Ask the kernel for the asynchronous errors it recorded (see scripts/tslab-kernel.js)."""
        assert self.kc is not None
        msg_id = self.kc.execute(ASYNC_PROBE % (wait_ms, PROBE_MARK), store_history=False)
        text = ""
        deadline = time.time() + wait_ms / 1000 + 60
        while True:
            if time.time() > deadline:
                return [f"the kernel did not answer the asynchronous-error check within {wait_ms / 1000 + 60:.0f} s"]
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=1))
            except Empty:
                if not await ensure_async(self.kc.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"].get("text", "")
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        await self.async_wait_for_reply(msg_id)  # the probe's execute_reply
        line = next((l for l in text.splitlines() if l.startswith(PROBE_MARK)), None)
        if line is None:
            return [f"the kernel did not answer the asynchronous-error check: {text.strip()[:500]}"]
        return json.loads(line[len(PROBE_MARK):])

    async_errors = run_sync(async_async_errors)


def first_line(cell: nbformat.NotebookNode) -> str:
    """The cell's first non-blank source line, shortened."""
    first = next((l for l in cell.source.splitlines() if l.strip()), "")
    return first[:100] + ("…" if len(first) > 100 else "")


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook; a malformed file is a NotebookFailed that names it."""
    try:
        nb = nbformat.read(path, as_version=4)
        # Relaxed as JupyterLab and nbclient are: e.g. cell ids in a 4.4 notebook are accepted.
        nbformat.validate(nb, relax_add_props=True)
    except Exception as err:  # NotJSONError, ValidationError, KeyError, UnicodeDecodeError, ...
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NotebookFailed(f"{path.name}: not a valid .ipynb notebook ({type(err).__name__}: {detail[:300]})\n"
                             f"  file: {path}\n"
                             f"  open it in JupyterLab or restore it from git (git checkout -- {path.name})") from None
    return nb


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


def execute(path: Path, timeout: int | None, echo_after: float) -> nbformat.NotebookNode:
    """Run every code cell of one notebook in a fresh tslab kernel; raise NotebookFailed on the first error."""
    nb = read_notebook(path)
    client = LiveClient(nb, kernel_name="tslab", timeout=timeout, allow_errors=False,
                        resources={"metadata": {"path": str(path.parent)}})
    client.quiet_seconds = echo_after
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    code_no = 0
    cell_for_error: tuple[int, int, nbformat.NotebookNode] | None = None

    def failed(reason: str, index: int, cell: nbformat.NotebookNode, error: str) -> NotebookFailed:
        return NotebookFailed(
            f"{path.name}: code cell {code_no} (cell index {index}) {reason}\n"
            f"  source: {first_line(cell)}\n"
            f"  error:\n    " + error.replace("\n", "\n    "))

    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                code_no += 1
                cell_for_error = (code_no, index, cell)
                say(f"    cell {code_no}/{code_cells}: {first_line(cell)}")
                client.start_cell()
                started = time.time()
                try:
                    client.execute_cell(cell, index)
                    if cell.get("execution_count") is None:  # tslab reports none to nbclient here; number cells as run
                        cell.execution_count = code_no
                except (CellExecutionError, CellTimeoutError) as err:
                    reason = "timed out" if isinstance(err, CellTimeoutError) else "failed"
                    raise failed(reason, index, cell, cell_error_text(cell)) from None
                finally:
                    client.finish_cell()
                last = code_no == code_cells
                errors = client.async_errors(wait_ms=5000 if last else 500)
                if errors:
                    raise failed("failed asynchronously (an error thrown in a timer or callback, or a promise "
                                 "rejected with no handler, while or after this cell ran)", index, cell,
                                 "\n\n".join(e.strip() for e in errors))
                # The kernel also printed the error into the cell (where it landed); never keep it as output.
                say(f"    cell {code_no} ok ({fmt_seconds(time.time() - started)})")
    except DeadKernelError:
        if cell_for_error is None:
            raise NotebookFailed(f"{path.name}: the kernel died while starting") from None
        code_no, index, cell = cell_for_error
        raise failed("failed: the kernel died (crashed, killed or out of memory) while it ran", index, cell,
                     cell_error_text(cell) if any(o.get("name") == "stderr" for o in cell.get("outputs", []))
                     else "(the kernel wrote no error before it died)") from None
    except RuntimeError as err:
        if "kernel" not in str(err).lower():
            raise
        raise NotebookFailed(f"{path.name}: the tslab kernel could not start or answer ({err}); "
                             "run `npm run setup`") from None
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


def link_reports(body: str) -> str:
    """Links between notebooks (`href="99-glossary.ipynb#..."`, `solutions/NN-x-solutions.ipynb`, and back up
    `../NN-x.ipynb`) point at the reports, which all sit side by side in one folder."""
    return re.sub(r'href="(?:solutions/|\.\./)?(\d[\w.-]*)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)


def share_plotly(nb: nbformat.NotebookNode, src: str) -> int:
    """Replace plotly.js inlined in chart html (lib/view/display.ts, once per kernel) by a <script src> to one shared copy.

    Each report then weighs what its content weighs; the JupyterLab / Notebook 7 rendering, which uses the
    Plotly mime type, is unchanged. Returns how many inlined copies were replaced."""
    replaced = 0
    tag = f'<script type="text/javascript" src="{html.escape(src)}"></script>'
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if "text/html" in data:
                text = data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"])
                new, n = PLOTLY_INLINE.subn(lambda _m: tag, text)
                if n:
                    data["text/html"] = new
                    replaced += n
    return replaced


def inline_script(page: str, src: str, path: Path) -> str:
    """Put the script loaded from `src` into the page itself (for --self-contained); other attributes are kept."""
    tag = re.compile(r'<script\b([^>]*?)\s*\bsrc="' + re.escape(src) + r'"([^>]*)></script>')
    body = re.sub(r"</(script)", r"<\\/\1", path.read_text(encoding="utf-8"), flags=re.I)
    new, n = tag.subn(lambda m: f"<script{m.group(1)}{m.group(2)}>{body}</script>", page, count=1)
    if n != 1:
        raise RuntimeError(f"the report template no longer loads {src}: cannot inline it")
    return new


def write_html(nb: nbformat.NotebookNode, name: str, out_dir: Path, self_contained: bool) -> Path:
    """Convert one executed notebook to an offline HTML report (sharing assets/, or self-contained)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="gru", extra_template_basedirs=[str(ROOT / "scripts" / "nbconvert")])
    exporter.mathjax_url = MATHJAX_REL
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    body = link_reports(body)
    if self_contained:
        body = inline_script(body, MATHJAX_REL, MATHJAX_SRC)
    target = out_dir / f"{name}.html"
    target.write_text(body, encoding="utf-8")
    return target


def git_commit() -> str:
    """The checkout's commit (short), with "+changes" when the working tree differs from it; "unknown" outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + (" +changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_index(entries: list[dict], out_dir: Path) -> None:
    """reports/index.html: every report with its summary, profile, build time, commit, duration and size.

    Entries of earlier runs stay listed (a run of one notebook updates its own line)."""
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(e["html"])}">{html.escape(e["title"] or e["name"])}</a>'
        f'<br><small>{html.escape(e["summary"])}</small></td>'
        f'<td><code>{html.escape(e["profile"])}</code></td><td>{html.escape(e["built"])}</td>'
        f'<td><code>{html.escape(e["commit"])}</code></td><td class="n">{html.escape(fmt_seconds(e["seconds"]))}</td>'
        f'<td class="n">{e["figures"]}</td><td class="n">{e["size_kb"]:,} KB</td></tr>'
        for e in entries)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Gated Recurrent Units: course reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;line-height:1.5}}
table{{border-collapse:collapse}}td,th{{padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top;text-align:left}}
td.n{{text-align:right;white-space:nowrap}}</style>
</head><body>
<h1>Gated Recurrent Units: course reports</h1>
<p>Each notebook executed with the tslab kernel by <code>scripts/run_notebooks.py</code>. Everything here works
offline (plotly.js and MathJax are in <code>assets/</code>, unless a report was built self-contained).</p>
<table>
<thead><tr><th>Notebook</th><th>Profile</th><th>Built (UTC)</th><th>Commit</th><th>Took</th><th>Charts</th><th>Size</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body></html>
"""
    (out_dir / "index.html").write_text(page, encoding="utf-8")


def previous_entries(out_dir: Path) -> list[dict]:
    """The reports an earlier run listed in DIR/manifest.json whose files still exist."""
    try:
        old = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))["reports"]
        return [e for e in old if isinstance(e, dict) and "html" in e and "profile" in e and (out_dir / e["html"]).is_file()]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/, then notebooks/solutions/)")
    ap.add_argument("--profile", choices=PROFILES, help="sizes to run at (default: $GRU_PROFILE or full)")
    ap.add_argument("--html", metavar="DIR", help="write executed notebooks and HTML reports here")
    ap.add_argument("--self-contained", action="store_true",
                    help="with --html: each report carries plotly.js and MathJax inline (one file to send; ~7 MB)")
    ap.add_argument("--echo-after", type=float, default=10.0, metavar="SECONDS",
                    help="show what a cell prints once it has run this long (default: 10)")
    ap.add_argument("--timeout", type=int, default=None,
                    help="seconds per cell (default: 1800 in ci, none in full)")
    args = ap.parse_args()

    profile = args.profile or os.environ.get("GRU_PROFILE", "full")
    if profile not in PROFILES:
        print(f"GRU_PROFILE={profile!r} is not one of {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    if args.self_contained and not args.html:
        print("--self-contained needs --html DIR (where to write the reports)", file=sys.stderr)
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
        (out_dir / "assets" / "plotly").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MATHJAX_SRC, out_dir / MATHJAX_REL)
        shutil.copyfile(PLOTLY_SRC, out_dir / PLOTLY_REL)

    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    commit = git_commit()
    entries: list[dict] = []
    timings: list[tuple[str, float]] = []
    run_started = time.time()
    try:
        for number, path in enumerate(paths, 1):
            say(f"[{profile}] notebook {number}/{len(paths)}: {path.name}")
            started = time.time()
            try:
                nb = execute(path, None if timeout < 0 else timeout, args.echo_after)
            except NotebookFailed as failure:
                print(f"\nNOTEBOOK FAILED: {failure}", file=sys.stderr, flush=True)
                return 1
            seconds = time.time() - started
            timings.append((path.name, seconds))
            say(f"[{profile}] {path.name} done in {fmt_seconds(seconds)}")
            if out_dir:
                built = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
                if not args.self_contained:
                    # The executed copy shares it too (JupyterLab and Notebook 7 draw from the Plotly mime type).
                    share_plotly(nb, PLOTLY_REL)
                nbformat.write(nb, out_dir / "executed" / path.name)
                report = write_html(nb, path.stem, out_dir, args.self_contained)
                title, summary = summary_of(nb)
                entries.append({"name": path.stem, "html": report.name, "title": title, "summary": summary,
                                "figures": figures_in(nb), "equations": equations_in(nb),
                                "size_kb": round(report.stat().st_size / 1024),
                                "seconds": round(seconds, 1), "profile": profile, "built": built,
                                "commit": commit, "self_contained": args.self_contained})
    except Stopped as stop:
        # Leaving execute()'s `with client.setup_kernel()` has shut the kernel (and any training in it) down.
        print(f"\nstopped by {stop}: the kernel was shut down; no report written for the notebook that was running",
              file=sys.stderr, flush=True)
        return 128 + stop.signum

    say("")
    say(f"[{profile}] {len(timings)} notebook{'s' if len(timings) != 1 else ''} in {fmt_seconds(time.time() - run_started)}:")
    for name, seconds in timings:
        say(f"  {name:<32} {fmt_seconds(seconds):>9}")
    if out_dir:
        names = {e["name"] for e in entries}
        listed = sorted([e for e in previous_entries(out_dir) if e["name"] not in names] + entries, key=lambda e: e["name"])
        write_index(listed, out_dir)
        (out_dir / "manifest.json").write_text(json.dumps({"profile": profile, "reports": listed}, indent=2))
        say("reports:")
        for e in entries:
            say(f"  {e['html']:<32} {e['size_kb']:>9,} KB  {e['figures']} charts, {e['equations']} equations")
        assets_kb = sum(f.stat().st_size for f in (out_dir / "assets").rglob("*") if f.is_file()) // 1024
        say(f"  assets/ (plotly.js, MathJax)   {assets_kb:>9,} KB")
        say(f"open {out_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
