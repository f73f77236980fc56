"""Every command in README.md runs, and every config snippet in it loads.

The commands run as written, in a shell, against the demo's local servers (the
story's posts up to the evening of its crisis day, the clock frozen there) and a
local SMTP server, with the demo's credentials in the environment. The few that
cannot run here are checked for what they stand on: ``make`` targets (CI runs
``make test``; ``tests/test_demo.py`` runs what ``make demo`` runs), the virtualenv
to activate, and the systemd unit, whose ``ExecStart`` is run as the daemon.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from listener.config import load_config
from listener.demo.__main__ import write_config
from listener.demo.mailbox import Mailbox
from listener.demo.stage import DEMO_ENV, Stage
from listener.demo.story import Timeline, story

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.M | re.S)


def commands() -> list[str]:
    lines = [line.strip() for block in blocks("sh") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@dataclass
class World:
    folder: Path
    config: Path
    env: dict[str, str]
    mailbox: Mailbox


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("readme")
    timeline = Timeline.for_today(date.today())
    frozen = timeline.at(0, 19)
    with Stage(story(timeline), lambda: frozen) as stage, Mailbox(folder / "mail") as mailbox:
        stage.publish_until(frozen)
        config = write_config(folder, stage, mailbox.port)
        (folder / "tweets.txt").write_text(
            "Che delusione il nuovo menù\nBest espresso in Milan!\n", encoding="utf-8"
        )
        steps = [
            frozen - timedelta(minutes=5 * k) for k in range(12 * 24 * 10, 0, -1)
        ]  # ten days, 5-minute rows
        rows = [f"{t:%Y-%m-%d %H:%M:%S},{60 if k > 2860 else 4 + k % 3},{30 if k > 2860 else k % 2}"
                for k, t in enumerate(steps)]  # fmt: skip
        (folder / "volumes.csv").write_text(
            "timestamp,value,negative\n" + "\n".join(rows) + "\n", encoding="utf-8"
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")},
            **DEMO_ENV,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LISTENER_CONFIG": str(config),
            "LISTENER_CLOCK": f"{frozen.isoformat()}@{time.time() + 10**9:.0f}x1",  # stopped at 19:00
        }
        yield World(folder, config, env, mailbox)


def shell(world: World, command: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd or world.folder, env=env or world.env, capture_output=True, text=True,
        encoding="utf-8", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"{command!r} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    return done.stdout + done.stderr


def daemon(world: World, argv: list[str]) -> list[str]:
    """Start the daemon as ``argv`` says, let it schedule its jobs, stop it with SIGTERM; its log lines."""
    with subprocess.Popen(
        argv, cwd=world.folder, env=world.env, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "jobs scheduled" in line:
                break
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    lines += rest.splitlines(keepends=True)
    assert process.returncode == 0, "".join(lines)
    return lines


def test_every_shell_command_in_the_readme_runs(world: World) -> None:
    found = commands()
    assert "make demo" in found and "listener init" in found and len(found) > 20
    for command in found:
        run_one(world, command)


def run_one(world: World, command: str) -> None:
    words = shlex.split(command)
    if words[0] == "make":  # CI runs 'make test'; tests/test_demo.py runs the demo target's command
        recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split(f"\n{words[1]}:")[1].split("\n\n")[0]
        assert {"demo": "listener demo", "test": "pytest"}[words[1]] in recipe
        assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    elif words[0] == "source":
        assert (BIN / "activate").is_file()
    elif words[:2] == ["listener", "init"]:
        scratch = world.folder / "fresh"
        scratch.mkdir()
        env = {k: v for k, v in world.env.items() if k != "LISTENER_CONFIG"}
        shell(world, command, cwd=scratch, env=env)
        assert load_config(scratch / "listener.toml").enabled_networks() == [
            "mastodon",
            "bluesky",
            "hackernews",
            "rss",
        ]
    elif words[:2] == ["listener", "run"] and "--once" not in words:
        assert any("jobs scheduled" in line for line in daemon(world, [str(BIN / "listener"), *words[1:]]))
    elif words[0] in ("sudo", "journalctl"):
        systemd(world, words)
    else:
        output = shell(world, command)
        assert output.strip(), f"{command!r} printed nothing"


def systemd(world: World, words: list[str]) -> None:
    """The install commands name what the unit uses; its ExecStart, with this machine's paths, is a
    daemon that logs JSON (what journalctl shows). ``tests/test_systemd.py`` checks the unit itself."""
    unit = (ROOT / "contrib" / "listener.service").read_text(encoding="utf-8")
    setting = {k: v for k, v in re.findall(r"^(\w+)=(.*)$", unit, re.M)}
    start = shlex.split(setting["ExecStart"])
    venv = start[0].removesuffix("/bin/listener")
    if words[1] == "cp":
        assert (ROOT / words[2]).is_file() and "[Service]" in unit
        return
    if words[1] == "useradd":  # the unit's user, whose home is the one folder it may write
        assert words[-1] == setting["User"] and "--system" in words
        assert (
            words[words.index("--home-dir") + 1] == setting["WorkingDirectory"] == setting["ReadWritePaths"]
        )
        return
    if words[1:] == ["systemctl", "daemon-reload"]:
        assert setting["WantedBy"] == "multi-user.target"  # what 'enable' links it from
        return
    if words[1:4] == ["python3", "-m", "venv"]:
        assert words[4] == venv
        return
    if words[1].endswith("/pip"):
        assert words[1:] == [f"{venv}/bin/pip", "install", "."] and (ROOT / "pyproject.toml").is_file()
        return
    if (
        words[1] == "install"
    ):  # the config's folder and file, and the secrets' file, where the unit reads them
        target = Path(words[-1])
        assert "listener" in words[words.index("-g") + 1]
        assert str(target) in (str(Path(start[2]).parent), start[2], setting["EnvironmentFile"])
        return
    assert start[0] == "/opt/listener/.venv/bin/listener" and start[1:3] == [
        "--config",
        "/etc/listener/listener.toml",
    ]
    lines = daemon(world, [str(BIN / "listener"), "--config", str(world.config), *start[3:]])
    assert all(json.loads(line)["message"] for line in lines)


def test_every_config_snippet_in_the_readme_loads(tmp_path: Path) -> None:
    snippets = blocks("toml")
    assert len(snippets) >= 9
    for snippet in snippets:
        head = "" if "[database]" in snippet else '[database]\npath = "listener.db"\n'
        watches = "" if "[[watches]]" in snippet else (
            '[[watches]]\nname = "brand"\nquery = "aurora"\n[[watches]]\nname = "complaints"\nquery = "rimborso"\n'
        )  # fmt: skip
        path = tmp_path / "listener.toml"
        path.write_text(head + watches + snippet, encoding="utf-8")
        config = load_config(path)
        assert config.watches, snippet


def test_the_readme_names_only_real_commands() -> None:
    from listener.cli import cli

    table = README.split("## Commands")[1].split("\n## ")[0]
    named = set(re.findall(r"`listener ([\w-]+)", table))
    assert named == set(cli.commands)
