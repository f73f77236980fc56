"""How fast the command line starts, and that the quick commands leave the science stack alone.

Prints, as the median of N runs of a fresh process each:

- ``python -c pass``: this machine's baseline in the same run (a busy machine
  slows everything; compare the rows to it, not across machines);
- the import time of ``listener.cli`` (``-X importtime``'s cumulative figure);
- the wall time of ``listener --version`` and ``listener --db <tmp> sql 'select 1'``.

Then it runs those two commands with ``PYTHONPROFILEIMPORTTIME`` (``-X importtime``
for a console script) and fails if either imported pandas, scipy or scikit-learn:
they take a second or more to import and neither command needs them. Target:
``listener --version`` under 0.3 s on an idle machine.

    python bench/startup.py --runs 15
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HEAVY = ("pandas", "scipy", "sklearn")
LISTENER = Path(sys.executable).with_name("listener")


def listener(*args: str) -> list[str]:
    """The installed console script, as users run it; ``python -m listener.cli`` without one."""
    if LISTENER.exists():
        return [str(LISTENER), *args]
    return [sys.executable, "-m", "listener.cli", *args]


def wall(command: Sequence[str], runs: int) -> float:
    """Median seconds from start to exit of ``command``; it must succeed."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def imports(command: Sequence[str]) -> dict[str, int]:
    """Every module ``command`` imported, with its cumulative import time in microseconds."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    found = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                found[name.strip()] = int(cumulative)
    return found


def heavy(modules: dict[str, int]) -> list[str]:
    """The top-level packages among ``HEAVY`` that were imported."""
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


def import_seconds(module: str, runs: int) -> float:
    """Median cumulative import time of ``module``, in seconds."""
    code = [sys.executable, "-c", f"import {module}"]
    return statistics.median(imports(code)[module] / 1e6 for _ in range(runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per figure (the median is shown)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "startup.db"
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
        version, query = listener("--version"), listener("--db", str(db), "sql", "select 1")
        rows = [
            ("python -c pass (baseline)", wall([sys.executable, "-c", "pass"], args.runs)),
            ("import listener.cli", import_seconds("listener.cli", args.runs)),
            ("listener --version", wall(version, args.runs)),
            ("listener sql 'select 1'", wall(query, args.runs)),
        ]
        width = max(len(name) for name, _ in rows)
        print(f"median of {args.runs} runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
        for name, seconds in rows:
            print(f"{name:<{width}}  {seconds:6.3f} s")
        failures = []
        for name, command in (("listener --version", version), ("listener sql 'select 1'", query)):
            found = heavy(imports(command))
            print(f"{name:<{width}}  imports {', '.join(found) or 'none of ' + ', '.join(HEAVY)}")
            if found:
                failures.append(name)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
