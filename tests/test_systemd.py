"""The systemd recipe works as written: the unit, the README's config and what the daemon writes agree.

The recipe once could not work: the config lived in /etc/listener with a database
path relative to it, and the unit let the daemon write only /var/lib/listener. Now
the README's config names the database in full, the unit may write its folder, and
everything the daemon writes (the database, its -wal and -shm, the lock file) goes
beside the database, never beside the config nor in the working directory.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from listener.config import parse_config
from listener.lock import DaemonLock

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
UNIT = ROOT / "contrib" / "listener.service"
SECTION = README.split("## Running the daemon")[1].split("\n## ")[0]


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def readme_config() -> str:
    snippets = re.findall(r"^```toml\n(.*?)^```", SECTION, re.M | re.S)
    assert len(snippets) == 1, "the daemon's section shows its [database] path"
    return str(snippets[0])


def test_the_unit_reads_the_config_the_readme_installs_and_may_write_its_database() -> None:
    service = unit()["Service"]
    start = shlex.split(service["ExecStart"])
    assert start[1] == "--config" and start[3:] == ["run", "--log-json"]
    config_path = start[2]
    assert f"install -m 0640 -g listener listener.toml {config_path}" in SECTION
    assert f"install -d -m 0750 -g listener {Path(config_path).parent}" in SECTION
    assert f"/dev/null {service['EnvironmentFile']}" in SECTION
    assert f"python3 -m venv {start[0].removesuffix('/bin/listener')}" in SECTION
    assert f"--shell /usr/sbin/nologin {service['User']}" in SECTION

    config = parse_config(readme_config(), Path(config_path))  # read where the service reads it
    database = config.database
    assert database.is_absolute() and database == Path("/var/lib/listener/listener.db")
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    written = [database, DaemonLock(database).path, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in written:
        assert any(path.parent == folder or folder in path.parents for folder in writable), path
    assert service["WorkingDirectory"] in map(str, writable)
    assert service["ProtectSystem"] == "strict" and service["UMask"] == "0077"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_a_relative_database_path_would_land_beside_the_config() -> None:
    """Why the README insists: the relative default is read against /etc/listener, which the unit cannot write."""
    config = parse_config('[database]\npath = "listener.db"\n', Path("/etc/listener/listener.toml"))
    writable = unit()["Service"]["ReadWritePaths"].split()
    assert config.database == Path("/etc/listener/listener.db")
    assert not any(Path(folder) in config.database.parents for folder in writable)


def test_the_daemon_writes_only_beside_its_database(tmp_path: Path) -> None:
    """``run --once`` as the unit runs it, with /etc and /var/lib as two folders and another working one."""
    etc, state, work = tmp_path / "etc", tmp_path / "var-lib", tmp_path / "work"
    for folder in (etc, state, work):
        folder.mkdir()
    config = etc / "listener.toml"
    config.write_text(
        readme_config().replace("/var/lib/listener", str(state))
        + '\n[[watches]]\nname = "brand"\nquery = "aurora"\n\n[networks.hackernews]\n'
        'api_base_url = "http://127.0.0.1:9"\nretry_attempts = 1\ntimeout_seconds = 1\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "listener.cli", "--config", str(config), "run", "--once"],
        cwd=work, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "cannot connect" in done.stderr  # it ran, and the one source failed: nothing listens on port 9
    assert sorted(p.name for p in etc.iterdir()) == ["listener.toml"]
    assert list(work.iterdir()) == []
    assert {"listener.db", "listener.db.lock"} <= {p.name for p in state.iterdir()}
    assert {p.name for p in state.iterdir()} <= {
        "listener.db",
        "listener.db.lock",
        "listener.db-wal",
        "listener.db-shm",
    }


def test_systemd_analyze_accepts_the_unit_where_it_is_installed(tmp_path: Path) -> None:
    """Containers rarely have systemd; where ``systemd-analyze`` exists, it must not complain of the unit."""
    parsed = unit()
    assert set(parsed.sections()) == {"Unit", "Service", "Install"}
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        copy = tmp_path / "listener.service"
        copy.write_text(UNIT.read_text(encoding="utf-8"), encoding="utf-8")
        done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
        problems = [
            line for line in done.stderr.splitlines() if "listener.service" in line and "Command" not in line
        ]
        assert problems == [], done.stderr
