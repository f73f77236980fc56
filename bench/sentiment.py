"""Throughput and memory of each sentiment backend, and of ``listener sentiment``.

    .venv/bin/python bench/sentiment.py [--n 2000] [--langdetect]

Each backend runs in a fresh process so its memory is its own. Throughput is the
steady rate: the first batch (warm-up: lazy loads, first allocations) is left out,
and the texts are distinct, so the cache by normalised text does not flatter it.
It counts everything ``score`` does: normalising, language detection, encoders.
Memory: peak RSS, RSS once scoring is done, and RSS after ``release()``, which
drops the encoders and the language model: what a long-lived worker holds while idle.
``--langdetect`` also compares py3langid with lingua (if installed) on the
shared tweets, whose language is known by folder.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sentiment"
FOLDERS = ("arabic", "english", "french", "german", "hindi", "italian", "portuguese", "spanish")
CODES = {"arabic": "ar", "english": "en", "french": "fr", "german": "de", "hindi": "hi",
         "italian": "it", "portuguese": "pt", "spanish": "es"}  # fmt: skip
CONFIGS = {
    "default": "ShippedBackend()",
    "default without cascade (e5 on every text)": "ShippedBackend(cascade=False)",
    "default without e5 (CPU without AVX2)": "ShippedBackend(encoders=[n for n in MODEL.encoder_names if n != 'e5'])",
    "default, n-grams only": "ShippedBackend(encoders=[])",
    "vader": "VaderBackend()",
}


def tweets(n: int) -> list[str]:
    """``n`` val tweets across the eight languages, fixed seed; synthetic if no data."""
    texts = []
    for folder in FOLDERS:
        path = DATA / folder / "val_text.txt"
        if path.exists():
            texts += path.read_text(encoding="utf-8").split("\n")
    if not texts:
        texts = ["non è affatto male 😍 #top", "I am not happy at all @user http://x.co"]
    random.Random(0).shuffle(texts)
    return [texts[i % len(texts)] for i in range(n)]


def one(expr: str, path: str) -> None:
    """Child process: load one backend, score the file, print figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from listener.sentiment.backends import ShippedBackend, VaderBackend
    from listener.sentiment.model import ShippedModel

    texts = Path(path).read_text(encoding="utf-8").split("\n")
    started = time.perf_counter()
    names = {"ShippedBackend": ShippedBackend, "VaderBackend": VaderBackend, "MODEL": ShippedModel()}
    backend = eval(expr, names)
    loaded = time.perf_counter()
    backend.score(texts[:256])
    warm = time.perf_counter()
    for i in range(256, len(texts), 256):
        backend.score(texts[i : i + 256])
    done = time.perf_counter()
    print(json.dumps({
        "version": backend.version,
        "load_s": round(loaded - started, 2),
        "texts_per_s": round((len(texts) - 256) / (done - warm), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "idle_rss_mb": round(rss_mb()),
        "released_rss_mb": release_and_measure(backend),
    }))  # fmt: skip


def release_and_measure(backend: object) -> int | str:
    """RSS after ``release()`` (what a worker holds while idle), where the backend has it."""
    release = getattr(backend, "release", None)
    if release is None:
        return "-"
    release()
    return round(rss_mb())


def rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli_seconds(path: str) -> float:
    """Wall time of the sentiment command on the file, start-up included."""
    code = "import sys; from listener.cli.sentiment import sentiment; sentiment(sys.argv[1:])"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, path], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def langdetect_table() -> None:
    sys.path.insert(0, str(ROOT))
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from listener.sentiment.langdetect import _clean, detect_language

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    methods = {
        "listener (py3langid, 30 languages)": detect_language,
        "py3langid, all 97 languages": lambda t: full.classify(_clean(t))[0],
    }
    try:
        from lingua import LanguageDetectorBuilder

        lingua = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

        def by_lingua(text: str) -> str | None:
            found = lingua.detect_language_of(_clean(text))
            return found.iso_code_639_1.name.lower() if found else None

        methods["lingua, all 75 languages"] = by_lingua
    except ImportError:
        print("lingua not installed: pip install lingua-language-detector to compare", file=sys.stderr)
    data = {
        CODES[f]: [t for s in ("train", "val") for t in (DATA / f / f"{s}_text.txt").read_text().split("\n")]
        for f in FOLDERS
    }
    print("| detector | " + " | ".join(data) + " | texts/s |")
    print("|---" * (len(data) + 2) + "|")
    for name, fn in methods.items():
        started, total, cells = time.perf_counter(), 0, []
        for code, texts in data.items():
            cells.append(f"{sum(fn(t) == code for t in texts) / len(texts):.3f}")
            total += len(texts)
        rate = total / (time.perf_counter() - started)
        print(f"| {name} | " + " | ".join(cells) + f" | {rate:,.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="tweets to score")
    parser.add_argument("--langdetect", action="store_true", help="also compare language detectors")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(t.replace("\r", " ") for t in tweets(args.n)))
    print(f"{args.n} tweets, {sys.platform}, python {sys.version.split()[0]}\n")
    print(
        "| backend | version | load s | steady texts/s | peak RSS MB | RSS after scoring MB | after release() MB |\n"
        "|---|---|---|---|---|---|---|"
    )
    for label, expr in CONFIGS.items():
        out = subprocess.run(
            [sys.executable, __file__, "--one", expr, f.name], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {label} | {r['version']} | {r['load_s']} | {r['texts_per_s']} | {r['peak_rss_mb']} "
            f"| {r['idle_rss_mb']} | {r['released_rss_mb']} |"
        )
    print(f"\n`listener sentiment` on {args.n} tweets, start-up included: {cli_seconds(f.name):.1f} s\n")
    Path(f.name).unlink()
    if args.langdetect:
        langdetect_table()


if __name__ == "__main__":
    main()
