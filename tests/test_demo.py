"""The offline demo end to end: ``python -m listener.demo`` into a temp folder, then its results checked.

One subprocess run (the demo itself starts the daemon as a process of its own and
sends it SIGTERM), shared by the tests below through a module fixture.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    returncode: int
    stdout: str
    stderr: str

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"{(self.folder / 'demo.db').as_uri()}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchall()

    def mail(self) -> list[EmailMessage]:
        found = []
        for path in sorted((self.folder / "mail").glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found


def _is_digest(message: EmailMessage) -> bool:
    return any(part.get_content_type() == "image/png" for part in message.walk())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    done = subprocess.run(
        [sys.executable, "-m", "listener.demo", "--dir", str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600,
    )  # fmt: skip
    return DemoRun(folder, done.returncode, done.stdout, done.stderr)


def test_exits_cleanly(run: DemoRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert "(the daemon exited with status 0)" in run.stdout
    assert "Demo finished" in run.stdout


def test_mentions_from_both_networks(run: DemoRun) -> None:
    counts: dict[str, int] = dict(run.query("SELECT network, count(*) FROM mentions GROUP BY network"))
    assert counts.get("x", 0) > 100
    assert counts.get("reddit", 0) > 50
    (unscored,) = run.query("SELECT count(*) FROM mentions WHERE sentiment_label IS NULL")[0]
    assert unscored == 0


def test_volume_and_negative_alerts_with_explanations(run: DemoRun) -> None:
    rows = run.query(
        "SELECT kind, watch, state, summary, explanation FROM alerts WHERE kind IN ('volume', 'negative')"
    )
    explained = set()
    for kind, watch, state, summary, explanation in rows:
        assert summary.startswith(f"{watch}: ")
        why = json.loads(explanation)
        assert why["what"]["metric"] == kind
        if state != "resolved" and why.get("terms") and why.get("samples"):
            explained.add(kind)
    assert explained == {"volume", "negative"}, rows
    brand = [json.loads(e) for _, w, _, _, e in rows if w == "brand"]
    assert brand, "the brand watch raised no alert"
    assert "#auroradown" in {t["tag"] for why in brand for t in why.get("hashtags", [])}


def test_alert_and_digest_emails_saved_as_eml(run: DemoRun) -> None:
    mail = run.mail()
    alerts = [m for m in mail if not _is_digest(m)]
    digests = [m for m in mail if _is_digest(m)]
    assert alerts and digests
    for message in mail:
        assert message["To"] == "social@caffeaurora.example"
        assert str(message["Subject"]).startswith("[listener] ")
    text = alerts[0].get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert "Driving terms:" in body
    assert "Most engaged posts:" in body
    digest = digests[-1].get_body(preferencelist=("html",))
    assert digest is not None
    assert "<html" in digest.get_content().lower()


def test_digest_preview_written(run: DemoRun) -> None:
    html = (run.folder / "digest.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
