"""What a student feels when pressing a button of a stepper page, measured in Chromium.

Run: python bench/bench_press_browser.py [--page gaussian_gan|gan_2d] [--presses 28] [--warmup 4]
                                         [--run-n 200] [--root OTHER_CHECKOUT] [--json FILE]

Starts the app (`streamlit run playground/Home.py`, of this checkout or of --root, to measure a
before/after pair), opens the 1-D page (or the 2-D page: --page gan_2d) in headless Chromium (Debian's /usr/bin/chromium or
$PLAYWRIGHT_CHROMIUM) and presses D step / G step alternately, then "1 D + 1 G", then "Run N
steps". For each press, measured in the page itself (performance.now(), from the click):

- counter: until the "D updates" / "G updates" number shows the new count;
- settled: until the script has finished and no element is stale (greyed), two frames later;

and beside them, per press: the server's script time (every script run the press caused, timed
inside the server by a wrapper around Streamlit's script runner, and how many runs), the bytes
the server sent over the websocket, and the browser's scripting / layout+style time (Chrome's
performance metrics). Prints median / p95 / max per kind of press.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
RUN_BUTTONS = {"gaussian_gan": "Run N steps", "gan_2d": "Run N"}
"""The stepper pages (their URL path) and the label of each one's Run button; both show the
"D updates" / "G updates" counters and the "D step", "G step", "1 D + 1 G" buttons."""
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

TIMED_SERVER = """
import sys, time
from streamlit.runtime.scriptrunner import script_runner
from streamlit.web import cli
untimed = script_runner.ScriptRunner._run_script
def timed(self, rerun_data):
    started = time.perf_counter()
    try:
        return untimed(self, rerun_data)
    finally:
        print(f"script-ms {(time.perf_counter() - started) * 1e3:.2f}", file=sys.stderr, flush=True)
script_runner.ScriptRunner._run_script = timed
sys.argv = ["streamlit", *sys.argv[1:]]
sys.exit(cli.main())
"""
"""`streamlit` with each script run (a whole page or a fragment) timed on stderr."""

PRESS = """
([label, counter]) => new Promise((resolve) => {
  const value = () => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((m) => m.innerText.startsWith(counter));
    return metric ? metric.querySelector('[data-testid="stMetricValue"]').innerText : null;
  };
  const button = [...document.querySelectorAll('button')]
    .find((b) => b.innerText.trim() === label);
  const before = value();
  let changed = null;
  const start = performance.now();
  const observer = new MutationObserver(() => {
    if (changed === null && value() !== before) {
      changed = performance.now() - start;
      observer.disconnect();  // the probe itself must not slow the page down
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  button.click();
  const check = () => {
    const idle = document.querySelector('[data-test-script-state="notRunning"]');
    const stale = document.querySelector('[data-stale="true"]');
    if (changed !== null && idle && !stale) {
      requestAnimationFrame(() => requestAnimationFrame(() =>
        resolve({counter: changed, settled: performance.now() - start})));
    } else {
      setTimeout(check, 5);
    }
  };
  setTimeout(check, 5);
})
"""


@dataclass
class Press:
    kind: str
    counter_ms: float
    settled_ms: float
    server_ms: float
    script_runs: int
    bytes_sent: int
    scripting_ms: float
    rendering_ms: float


@dataclass
class Server:
    url: str
    log: Path

    def script_times(self, offset: int) -> tuple[list[float], int]:
        """Script run times logged after byte `offset` of the log, and the new offset."""
        with self.log.open() as log:
            log.seek(offset)
            lines = log.read()
            end = log.tell()
        times = [
            float(line.split()[1]) for line in lines.splitlines() if line.startswith("script-ms ")
        ]
        return times, end


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(root: Path) -> Iterator[Server]:
    """`streamlit run playground/Home.py` of `root` on a free loopback port, script runs timed."""
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-press-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", TIMED_SERVER, "run", "playground/Home.py", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.2)
        yield Server(url, log_path)
    finally:
        server.terminate()
        server.wait(timeout=30)


class Recorder:
    """The server's websocket messages (arrival time, size) and Chrome's cumulative metrics."""

    def __init__(self, page: Page, server: Server) -> None:
        self.server = server
        self.log_offset = 0
        self.frames: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def _frame(self, payload: bytes | str) -> None:
        self.frames.append((time.perf_counter(), len(payload)))

    def metrics(self) -> dict[str, float]:
        return {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}

    def press(self, page: Page, kind: str, label: str, counter: str) -> Press:
        before, frames = self.metrics(), len(self.frames)
        _, self.log_offset = self.server.script_times(self.log_offset)
        felt = page.evaluate(PRESS, [label, counter])
        page.wait_for_timeout(100)  # the last websocket events and log lines
        after = self.metrics()
        runs, self.log_offset = self.server.script_times(self.log_offset)
        delta = {name: (after[name] - before.get(name, 0.0)) * 1e3 for name in after}
        return Press(
            kind, felt["counter"], felt["settled"], sum(runs), len(runs),
            sum(n for _, n in self.frames[frames:]),
            delta.get("ScriptDuration", 0.0),
            delta.get("LayoutDuration", 0.0) + delta.get("RecalcStyleDuration", 0.0),
        )  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(presses: list[Press]) -> None:
    print(
        f"{'press':14} {'n':>3} | {'counter ms: median p95 max':>27} | "
        f"{'settled ms: median p95 max':>27} | {'server ms':>9} {'runs':>4} {'KiB sent':>8} "
        f"{'script ms':>9} {'layout ms':>9}"
    )
    for kind in dict.fromkeys(p.kind for p in presses):
        rows = [p for p in presses if p.kind == kind]
        print(
            f"{kind:14} {len(rows):3d} | {_spread(rows, 'counter_ms')} | "
            f"{_spread(rows, 'settled_ms')} | {_median(rows, 'server_ms'):9.0f} "
            f"{_median(rows, 'script_runs'):4.0f} "
            f"{_median(rows, 'bytes_sent') / 1024:8.1f} {_median(rows, 'scripting_ms'):9.0f} "
            f"{_median(rows, 'rendering_ms'):9.0f}"
        )


def _spread(rows: list[Press], name: str) -> str:
    values = [getattr(p, name) for p in rows]
    return f"{statistics.median(values):8.0f} {percentile(values, 0.95):8.0f} {max(values):8.0f}"


def _median(rows: list[Press], name: str) -> float:
    return statistics.median(getattr(p, name) for p in rows)


def set_n(page: Page, n: int) -> None:
    field = page.get_by_label("N", exact=True)
    field.fill(str(n))
    field.press("Enter")
    page.wait_for_selector('[data-test-script-state="notRunning"]')
    page.wait_for_timeout(300)


def measure(server: Server, presses: int, warmup: int, run_n: int, path: str) -> list[Press]:
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        recorder = Recorder(page, server)
        page.goto(f"{server.url}/{path}")
        page.wait_for_selector('[data-testid="stMetric"]')
        page.wait_for_selector('[data-test-script-state="notRunning"]')
        page.wait_for_timeout(1000)
        steps = [("D step", "D updates"), ("G step", "G updates")]
        for i in range(warmup):
            recorder.press(page, "warm-up", *steps[i % 2])
        results = [recorder.press(page, "D / G step", *steps[i % 2]) for i in range(presses)]
        results += [recorder.press(page, "1 D + 1 G", "1 D + 1 G", "G updates") for _ in range(8)]
        set_n(page, run_n)
        results += [
            recorder.press(page, f"Run N={run_n}", RUN_BUTTONS[path], "G updates") for _ in range(3)
        ]
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", choices=list(RUN_BUTTONS), default="gaussian_gan")
    parser.add_argument("--presses", type=int, default=28, help="D / G presses timed")
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--run-n", type=int, default=200)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose app to serve")
    parser.add_argument("--json", type=Path, help="also write every press here")
    args = parser.parse_args()
    with app_server(args.root) as server:
        presses = measure(server, args.presses, args.warmup, args.run_n, args.page)
    load = os.getloadavg()[0]
    print(f"{args.page} of {args.root}; headless Chromium, 1400x1000; load average {load:.1f}")
    report(presses)
    if args.json:
        args.json.write_text(json.dumps([asdict(p) for p in presses], indent=1))


if __name__ == "__main__":
    main()
