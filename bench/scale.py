"""Every hot path at 1M and 10M mentions with 500 watches (issue #20), against raw SQL.

Builds (once, cached by parameters) realistic databases through the storage API
(``bench/scale_data.py``), then measures each hot path in process and prints one
table: 1M, 10M, ratio, the issue's target, pass or fail.

    python bench/scale.py --build-only --n 1000000     # build the 1M database, then stop
    python bench/scale.py                              # measure on every cached size
    python bench/scale.py --n 1000000 --json

Databases live in /work/scale-cache/ (``--cache``), named ``m<mentions>-w<watches>-d<days>-s<seed>.db``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale_data import Spec, build, cache_name

DEFAULT_CACHE = Path("/work/scale-cache")
SIZES = (1_000_000, 10_000_000)


def cached(spec: Spec, cache: Path, *, run_watches: int | None = None) -> Path:
    """The database for ``spec``, built first if the cache lacks it."""
    path = cache / cache_name(spec)
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"building {path} ...", flush=True)
        build(path, spec.mentions, spec.watches, spec.days, spec.seed, run_watches=run_watches)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="mentions (repeatable; default 1M and 10M)")
    parser.add_argument("--watches", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-watches", type=int, help="watches with a runs history (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--build-only", action="store_true", help="build the databases, measure nothing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    specs = [Spec(n, args.watches, args.days, args.seed) for n in (args.n or SIZES)]
    if args.build_only:
        for spec in specs:
            print(cached(spec, args.cache, run_watches=args.run_watches))
        return 0
    raise SystemExit("measurements: not yet")


if __name__ == "__main__":
    sys.exit(main())
