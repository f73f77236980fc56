"""``listener run --once`` says in its exit status how the pass went, as ``listener collect`` does.

0 when every source ran, 3 when some failed, 1 when all did; a failed source is
logged at WARNING, so a cron job or a systemd timer notices a dead daemon.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from listener.demo import script
from listener.demo.redditserver import RedditServer
from listener.demo.stage import DEMO_ENV
from listener.demo.xserver import XServer
from listener.records import utcnow
from tests.test_daemon import write_config  # the daemon tests' config: X and Reddit on local servers

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("LISTENER_", "X_", "REDDIT_"))}


def run_once(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "listener.cli", "--config", str(config), "run", "--once"],
        env={**ENV, **env}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_exit_status_is_0_3_or_1_as_none_some_or_all_sources_fail(tmp_path: Path) -> None:
    x_env = {"X_BEARER_TOKEN": DEMO_ENV["X_BEARER_TOKEN"]}
    reddit_env = {k: v for k, v in DEMO_ENV.items() if k.startswith("REDDIT_")}
    with XServer(token=x_env["X_BEARER_TOKEN"]) as x, RedditServer(
        DEMO_ENV["REDDIT_CLIENT_ID"], DEMO_ENV["REDDIT_CLIENT_SECRET"],
        username=script.REDDIT_ACCOUNT, password=DEMO_ENV["REDDIT_PASSWORD"],
    ) as reddit:  # fmt: skip
        script.load(x, reddit, utcnow() - timedelta(hours=48))
        config = write_config(tmp_path, x.url, reddit.url)
        fine = run_once(config, {**x_env, **reddit_env})
        assert fine.returncode == 0, fine.stderr
        assert " WARNING " not in fine.stderr
        some = run_once(config, x_env)  # reddit's credentials are missing
        assert some.returncode == 3, some.stderr
        assert [line for line in some.stderr.splitlines() if " WARNING " in line and "reddit" in line]
        none = run_once(config, {})
        assert none.returncode == 1, none.stderr
        warned = [line for line in none.stderr.splitlines() if " WARNING " in line]
        assert any("x " in line for line in warned) and any("reddit " in line for line in warned), none.stderr
        assert "Traceback" not in fine.stderr + some.stderr + none.stderr
