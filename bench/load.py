"""A class of simulated students against one local server, and one real browser beside them.

Run: python bench/load.py [--students 30] [--jobs 0] [--seconds 60] [--no-browser]
                          [--root OTHER_CHECKOUT] [--json FILE] [--profile DIR]

Starts the app (`streamlit run playground/Home.py`, with synthetic training data and a temporary
runs folder) on 127.0.0.1 and lets N students use it at once. Each student is a real Streamlit
session speaking the app's own websocket protocol (Streamlit's BackMsg / ForwardMsg protobufs):
it opens the 1-D GAN page and presses "D step", "G step" or "1 D + 1 G" at a human pace (one
press every 2-5 s, at random). `--jobs M` of them first start a small MNIST training job on the
MNIST page, then go on pressing while it trains. Beside the bots, one headless Chromium session
presses at the same pace and measures what a person feels (click to settled page).

Reports press-to-update latency (press sent -> the server's "script finished"), p50 / p95 / p99,
errors (an exception on the page, a failed run, a dropped connection, a press without an answer
in 30 s), the server's peak RSS and its mean CPU (100 % = one core), and the browser's press ->
settled p50 / p95. Exits 1 on any error, so CI can run a small class (N = 5 for 20 s).

`--profile DIR` samples the server with py-spy while the class runs, keeps the stacks in DIR
(py-spy's raw format: `profile-N<students>-M<jobs>.txt`, readable by speedscope or flamegraph
tools) and prints where the server's time went: the functions on most sampled stacks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import websockets
from bench_press_browser import BROWSER_ARGS, PRESS, ROOT, Server, app_server, percentile
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

PRESSES = ("D step", "G step", "1 D + 1 G")
PACE_S = (2.0, 5.0)
ANSWER_TIMEOUT_S = 30.0
FAILED_RUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")
JOB_EPOCHS = 0.05


@dataclass
class Tally:
    """Everything the students measured, shared by the bots (one event loop) and the browser."""

    presses_ms: list[float] = field(default_factory=list)
    opens_ms: list[float] = field(default_factory=list)
    browser_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    jobs_started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, who: str, what: str) -> None:
        with self.lock:
            self.errors.append(f"{who}: {what}")


class Session:
    """One student's Streamlit session over the websocket."""

    def __init__(self, ws: websockets.ClientConnection, name: str) -> None:
        self.ws = ws
        self.name = name
        self.widgets: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id)
        self.page = ""

    async def run(
        self, page: str, widgets: list[tuple[str, str, object]] = (), fragment: str = ""
    ) -> list[str]:
        """Ask for a script run of `page` with `widgets` (label, field, value); wait for it to
        finish; return the problems it showed (exceptions, a failed run)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.page_name = page
        state.fragment_id = fragment
        for label, name, value in widgets:
            widget = state.widget_states.widgets.add()
            widget.id = self.widgets[label][0]
            setattr(widget, name, value)
        await self.ws.send(msg.SerializeToString())
        problems: list[str] = []
        while True:
            reply = ForwardMsg()
            reply.ParseFromString(await asyncio.wait_for(self.ws.recv(), ANSWER_TIMEOUT_S))
            kind = reply.WhichOneof("type")
            if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                problems += self._read(reply.delta.new_element, reply.delta.fragment_id)
            elif kind == "script_finished":
                if reply.script_finished == FAILED_RUN:
                    problems.append("the script failed")
                self.page = page
                return problems

    def _read(self, element, fragment: str) -> list[str]:
        kind = element.WhichOneof("type")
        if kind == "exception":
            return [f"exception on the page: {element.exception.message[:200]}"]
        inner = getattr(element, kind)
        if getattr(inner, "id", "") and getattr(inner, "label", ""):
            self.widgets[inner.label] = (inner.id, fragment)
        return []

    async def press(self, label: str) -> list[str]:
        return await self.run(self.page, [(label, "trigger_value", True)], self.widgets[label][1])


async def student(index: int, url: str, deadline: float, with_job: bool, tally: Tally) -> None:
    name = f"student {index}"
    rng = random.Random(index)
    try:
        async with websockets.connect(
            url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
        ) as ws:
            session = Session(ws, name)
            if with_job:
                await start_job(session, tally)
            started = time.perf_counter()
            for problem in await session.run("gaussian_gan"):
                tally.error(name, problem)
            tally.opens_ms.append((time.perf_counter() - started) * 1e3)
            while time.monotonic() < deadline:
                await asyncio.sleep(rng.uniform(*PACE_S))
                sent = time.perf_counter()
                problems = await session.press(rng.choice(PRESSES))
                tally.presses_ms.append((time.perf_counter() - sent) * 1e3)
                for problem in problems:
                    tally.error(name, problem)
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        tally.error(name, f"{type(exc).__name__}: {exc}")


async def start_job(session: Session, tally: Tally) -> None:
    """Open the MNIST page and press Train with a short run (the other settings as they are)."""
    for problem in await session.run("mnist_gan"):
        tally.error(session.name, problem)
    problems = await session.run(
        "mnist_gan", [("epochs", "double_value", JOB_EPOCHS), ("Train", "trigger_value", True)]
    )
    for problem in problems:
        tally.error(session.name, problem)
    with tally.lock:
        tally.jobs_started += 1


def browser_student(url: str, deadline: float, tally: Tally) -> None:
    """One person in Chromium pressing at the same pace: click -> settled page."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(-1)
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM") or "/usr/bin/chromium"
    counters = {"D step": "D updates", "G step": "G updates", "1 D + 1 G": "G updates"}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(ANSWER_TIMEOUT_S * 1000)
            page.goto(f"{url}/gaussian_gan")
            page.wait_for_selector('[data-testid="stMetric"]')
            page.wait_for_selector('[data-test-script-state="notRunning"]')
            while time.monotonic() < deadline:
                page.wait_for_timeout(rng.uniform(*PACE_S) * 1000)
                label = rng.choice(PRESSES)
                felt = page.evaluate(PRESS, [label, counters[label]])
                with tally.lock:
                    tally.browser_ms.append(felt["settled"])
                if page.locator('[data-testid="stException"]').count():
                    tally.error("browser", "exception on the page")
            browser.close()
    except Exception as exc:  # noqa: BLE001 - any failure of the browser session is an error
        tally.error("browser", f"{type(exc).__name__}: {str(exc)[:200]}")


class ServerMeter:
    """The server process's peak RSS and CPU time, and those of its job worker processes (its
    children: jobs train off the web process), sampled while the class runs."""

    def __init__(self, port: str) -> None:
        self.pid = self._server_pid(port)
        self.server = psutil.Process(self.pid)
        self.peak_rss_mb = 0.0
        self.peak_workers_rss_mb = 0.0
        self._workers_cpu: dict[int, float] = {}
        self._cpu_start = self._cpu_s(self.server)
        self._workers_start = self._sample_workers()
        self._time_start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _server_pid(port: str) -> int:
        wanted = f"--server.port\0{port}\0".encode()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and wanted in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
        raise RuntimeError(f"no server process listens on port {port}")

    @staticmethod
    def _cpu_s(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def _sample_workers(self) -> float:
        """Worker processes' RSS now (peak kept) and their CPU seconds so far, summed."""
        rss = 0.0
        for child in self.server.children(recursive=True):
            try:
                self._workers_cpu[child.pid] = self._cpu_s(child)
                rss += child.memory_info().rss / 2**20
            except psutil.Error:
                continue  # a worker that just ended keeps its last CPU reading
        self.peak_workers_rss_mb = max(self.peak_workers_rss_mb, rss)
        return sum(self._workers_cpu.values())

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_rss_mb = max(self.peak_rss_mb, self.server.memory_info().rss / 2**20)
            self._sample_workers()

    def stop(self) -> tuple[float, float]:
        """Stop sampling; the mean CPU use since the start of the server and of its workers,
        in % of one core."""
        self._stop.set()
        self._thread.join()
        seconds = time.monotonic() - self._time_start
        server = self._cpu_s(self.server) - self._cpu_start
        workers = self._sample_workers() - self._workers_start
        return 100 * server / seconds, 100 * workers / seconds


def trained_jobs(runs: Path) -> int:
    """Jobs in the runs folder that got a slot (running or finished): their training shows in
    the workers' CPU column."""
    count = 0
    for record in runs.glob("*/*/job.json"):
        count += json.loads(record.read_text()).get("state") in ("running", "finished")
    return count


@dataclass
class Row:
    students: int
    jobs: int
    seconds: float
    presses: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    open_p50_ms: float
    errors: int
    jobs_trained: int
    peak_rss_mb: float
    cpu_percent: float
    workers_rss_mb: float
    workers_cpu_percent: float
    bots_cpu_percent: float  # this process: the simulated students (and the browser's driver)
    browser_presses: int
    browser_p50_ms: float
    browser_p95_ms: float


async def warm_up(url: str) -> None:
    """Open the pages once before the class arrives, as the instructor would: the server's
    one-off imports and caches are not what a press costs."""
    async with websockets.connect(
        url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None
    ) as ws:
        session = Session(ws, "warm-up")
        for page in ("gaussian_gan", "mnist_gan"):
            await session.run(page)


async def class_of(url: str, students: int, jobs: int, seconds: float, tally: Tally) -> None:
    deadline = time.monotonic() + seconds
    bots = []
    for index in range(students):
        bots.append(asyncio.create_task(student(index, url, deadline, index < jobs, tally)))
        await asyncio.sleep(0.05)  # a class arrives over a few seconds, not in one instant
    await asyncio.gather(*bots)


def measure(
    server: Server,
    students: int,
    jobs: int,
    seconds: float,
    with_browser: bool,
    profile: Path | None = None,
) -> Row:
    tally = Tally()
    asyncio.run(warm_up(server.url))
    meter = ServerMeter(server.url.rsplit(":", 1)[1])
    bots, bots_start = psutil.Process(), time.monotonic()
    bots_cpu_start = ServerMeter._cpu_s(bots)
    sampler = None
    if profile is not None:
        stacks = profile / f"profile-N{students}-M{jobs}.txt"
        sampler = start_profile(meter.pid, seconds, stacks)
    browser = None
    if with_browser:
        deadline = time.monotonic() + seconds
        browser = threading.Thread(target=browser_student, args=(server.url, deadline, tally))
        browser.start()
    asyncio.run(class_of(server.url, students, jobs, seconds, tally))
    if browser is not None:
        browser.join()
    cpu, workers_cpu = meter.stop()
    bots_cpu = 100 * (ServerMeter._cpu_s(bots) - bots_cpu_start) / (time.monotonic() - bots_start)
    if sampler is not None:
        sampler.wait(timeout=60)
        print(profile_summary(stacks))
    jobs_trained = trained_jobs(Path(os.environ["PLAYGROUND_RUNS"]))
    for error in tally.errors[:10]:
        print("error:", error, file=sys.stderr)

    def stat(values: list[float], share: float) -> float:
        return percentile(values, share) if values else float("nan")

    return Row(
        students, jobs, seconds, len(tally.presses_ms),
        stat(tally.presses_ms, 0.5), stat(tally.presses_ms, 0.95), stat(tally.presses_ms, 0.99),
        statistics.median(tally.opens_ms) if tally.opens_ms else float("nan"),
        len(tally.errors), jobs_trained, meter.peak_rss_mb, cpu, meter.peak_workers_rss_mb,
        workers_cpu, bots_cpu, len(tally.browser_ms),
        stat(tally.browser_ms, 0.5), stat(tally.browser_ms, 0.95),
    )  # fmt: skip


def start_profile(pid: int, seconds: float, stacks: Path) -> subprocess.Popen:
    """py-spy sampling the server's threads (idle ones left out) for the class's duration."""
    stacks.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
        "--duration", str(max(1, int(seconds))), "--rate", "50", "--format", "raw",
        "--nonblocking", "--output", str(stacks),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_summary(stacks: Path, top: int = 12) -> str:
    """Where the server's busy samples were: by library (the innermost frame's), and the app's
    own functions found on the most stacks (inclusive)."""
    if not stacks.exists():
        return f"no profile at {stacks} (py-spy missing, or not allowed to attach)"
    total, by_library, ours = 0, Counter(), Counter()
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not count.isdigit() or not frames:
            continue
        n, stack = int(count), frames.split(";")
        total += n
        by_library[_library(stack[-1])] += n
        for name in {f.split(" (")[0] for f in stack if _library(f) in ("playground", "pages")}:
            ours[name] += n
    share = lambda n: f"{100 * n / max(1, total):5.1f} %"  # noqa: E731
    lines = [f"server busy samples: {total} at 50 Hz ({stacks.name}); innermost frame by library:"]
    lines += [f"  {share(n)}  {name}" for name, n in by_library.most_common(top)]
    lines.append("the app's own functions on the most stacks (inclusive):")
    lines += [f"  {share(n)}  {name}" for name, n in ours.most_common(top)]
    return "\n".join(lines)


def _library(frame: str) -> str:
    """The package a py-spy frame "name (path/file.py:12)" belongs to."""
    path = frame.rpartition(" (")[2].rstrip(")").split(":")[0]
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    if not parts or path.startswith("<"):
        return "other"
    if len(parts) == 1:
        return "python (" + parts[0] + ")"
    return parts[0]


def report(rows: list[Row]) -> None:
    print(
        f"{'N':>4} {'M':>2} {'presses':>7} | {'press ms p50':>12} {'p95':>6} {'p99':>6} | "
        f"{'open ms':>7} | {'errors':>6} {'jobs':>4} | {'RSS MB':>6} {'CPU %':>5} | "
        f"{'workers MB':>10} {'CPU %':>5} | {'bots CPU %':>10} | "
        f"{'browser settled ms p50':>22} {'p95':>6} ({'n':>2})"
    )
    for r in rows:
        print(
            f"{r.students:4d} {r.jobs:2d} {r.presses:7d} | {r.p50_ms:12.0f} {r.p95_ms:6.0f} "
            f"{r.p99_ms:6.0f} | {r.open_p50_ms:7.0f} | {r.errors:6d} {r.jobs_trained:4d} | "
            f"{r.peak_rss_mb:6.0f} "
            f"{r.cpu_percent:5.0f} | {r.workers_rss_mb:10.0f} {r.workers_cpu_percent:5.0f} | "
            f"{r.bots_cpu_percent:10.0f} | "
            f"{r.browser_p50_ms:22.0f} {r.browser_p95_ms:6.0f} "
            f"({r.browser_presses:2d})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[30], help="N, one row each")
    parser.add_argument("--jobs", type=int, default=0, help="M students who start a job first")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-browser", action="store_true", help="bots only")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose app to serve")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--profile", type=Path, help="sample the server with py-spy into DIR")
    args = parser.parse_args()
    if not 1 <= max(args.students) <= 300 or not 0 < args.seconds <= 1800:
        parser.error("at most 300 students and 30 minutes: this load stays on this machine")
    if not 0 <= args.jobs <= min(args.students):
        parser.error("--jobs must be between 0 and the smallest --students")
    rows = []
    os.environ.update(PLAYGROUND_SYNTHETIC_DATA="1")
    os.environ.setdefault("PLAYGROUND_MAX_JOBS_PER_OWNER", "1")
    for students in args.students:
        with tempfile.TemporaryDirectory(prefix="load-runs-") as runs:  # a fresh class each row
            os.environ["PLAYGROUND_RUNS"] = runs
            with app_server(args.root) as server:
                rows.append(
                    measure(
                        server,
                        students,
                        args.jobs,
                        args.seconds,
                        not args.no_browser,
                        args.profile,
                    )  # fmt: skip
                )
    load = os.getloadavg()[0]
    print(f"app of {args.root}; {os.cpu_count()} cores; load average {load:.1f}")
    report(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
