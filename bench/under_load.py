"""The demo tells the same story on a busy machine: ``listener demo`` idle, then beside CPU burners.

Runs the demo once as it is, then again with ``--burners`` processes that spin
on the CPU (started here, stopped when the second run ends, and never alive
longer than ``--limit`` seconds). Compares what the two runs found: the alerts
(kind, watch, severity, start bucket), what drove them (terms, hashtags,
signals) and the digests' numbers. Prints both wall times and every
difference; exits 1 if there is one.

    python bench/under_load.py
    python bench/under_load.py --burners 2 --limit 900
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from listener.demo.mailbox import is_digest, saved_messages  # noqa: E402

BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@dataclass(frozen=True)
class Story:
    """What one demo run found, in a form two runs can be compared by."""

    seconds: float
    cpu: float  # CPU seconds of the demo and the processes it started
    alerts: list[tuple[str, str, str, str]]  # kind, watch, severity, start bucket
    drivers: dict[str, list[str]]  # "kind watch" -> terms, hashtags and signals
    digests: list[str]  # each digest's subject and its watches table


@contextmanager
def burners(count: int, limit: float) -> Iterator[None]:
    """``count`` processes spinning on the CPU until the block ends (or ``limit`` seconds pass)."""
    code = BURN.format(seconds=limit)
    spinning = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]
    try:
        yield
    finally:
        for process in spinning:
            process.terminate()
            process.wait()


def run_demo(folder: Path) -> Story:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "listener.cli", "demo", "--dir", str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - began, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"the demo in {folder} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return read_story(folder, seconds, cpu)


def _children_cpu() -> float:
    """CPU seconds (user and system) used so far by the finished child processes, the demo's included."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def read_story(folder: Path, seconds: float, cpu: float) -> Story:
    with sqlite3.connect(f"{(folder / 'demo.db').as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT kind, watch, severity, started_at, explanation FROM alerts ORDER BY kind, watch, started_at"
        ).fetchall()
    alerts = [(kind, watch, severity, started) for kind, watch, severity, started, _ in rows]
    drivers = {
        f"{kind} {watch} {started}": _drivers(json.loads(why)) for kind, watch, _, started, why in rows
    }
    digests = [_digest_numbers(m) for m in saved_messages(folder / "mail") if is_digest(m)]
    return Story(seconds, cpu, alerts, drivers, digests)


def _drivers(why: dict[str, list[dict[str, str]]]) -> list[str]:
    terms = [t["term"] for t in why.get("terms", [])]
    tags = [t["tag"] for t in why.get("hashtags", [])]
    return [*terms, *tags, *map(str, why.get("signals", []))]


def _digest_numbers(message: EmailMessage) -> str:
    """The subject (mentions, change, negative share) and the per-watch table of the plain-text part."""
    body = message.get_body(preferencelist=("plain",))
    text = (body.get_content() if body is not None else "").replace("\r\n", "\n")
    table = text.split("Watches:", 1)[-1].strip().split("\n\n", 1)[0]
    return f"{message['Subject']}\n{table}"


def differences(idle: Story, loaded: Story) -> list[str]:
    found = []
    for what in ("alerts", "drivers", "digests"):
        a, b = getattr(idle, what), getattr(loaded, what)
        if a != b:
            found.append(f"{what} differ:\n  idle:   {a}\n  loaded: {b}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes beside the second run")
    parser.add_argument(
        "--limit", type=float, default=900.0, help="seconds after which a burner stops anyway"
    )
    parser.add_argument("--dir", type=Path, help="where the two demo folders go [default: a temp folder]")
    args = parser.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="listener-under-load-"))
    load = os.getloadavg()[0]
    idle = run_demo(base / "idle")
    with burners(args.burners, args.limit):
        loaded = run_demo(base / "beside")
    print(f"load average before the runs: {load:.2f}")
    for name, story in (("idle", idle), (f"beside {args.burners} CPU burners", loaded)):
        print(f"demo {name}: {story.seconds:.1f} s wall, {story.cpu:.1f} s CPU  ({base / name.split()[0]})")
    print(f"alerts: {len(idle.alerts)} idle, {len(loaded.alerts)} loaded; digests: {len(idle.digests)}, "
          f"{len(loaded.digests)}")  # fmt: skip
    for kind, watch, severity, started in idle.alerts:
        print(f"  {kind:12} {watch:15} {severity:8} from {started}")
    problems = differences(idle, loaded)
    for problem in problems:
        print(problem)
    print("the same story under load" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
