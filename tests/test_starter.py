"""The starter config's commented sections are real: uncommented, they parse with the settings models.

``listener init`` once wrote no ``[alerts]``, ``[email]`` or ``[digest]``; a user had
to find the keys in the README. Now they are in the file, commented, and every
commented key must be one the models accept (they forbid unknown keys), with a
value they accept. ``[serve]`` is left out: its model is added elsewhere.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from listener.config import parse_config

STARTER = files("listener").joinpath("starter.toml").read_text(encoding="utf-8")
HEADER = re.compile(r"^# (\[[a-z_.]+\])(\s.*)?$")
KEY = re.compile(r"^# ([a-z_]+ = .*)$")


def uncommented(text: str, skip: set[str]) -> tuple[str, set[str]]:
    """``text`` with every commented section header and key line made live, but those of ``skip``."""
    lines, sections, section = [], set(), ""
    for line in text.splitlines():
        if match := HEADER.match(line):
            section = match.group(1)
            if section not in skip:
                sections.add(section)
                line = match.group(1) + (match.group(2) or "")
        elif line.startswith("["):
            section = line.split("]")[0] + "]"
        elif (match := KEY.match(line)) and section not in skip:
            line = match.group(1)
        lines.append(line)
    return "\n".join(lines) + "\n", sections


def test_every_commented_section_and_key_parses(tmp_path: Path) -> None:
    text, sections = uncommented(STARTER, set())
    assert {"[alerts]", "[email]", "[digest]", "[serve]"} <= sections
    assert text.count("\n# ") < STARTER.count("\n# ")  # something was uncommented
    config = parse_config(text, tmp_path / "listener.toml")
    assert config.alerts.channels == ("email",) and config.alerts.quiet_hours == "23:00-07:00"
    assert config.email is not None and config.email.password_env == "SMTP_PASSWORD"
    assert config.email.host == "smtp.example.org" and config.email.recipients == ["social@example.org"]
    assert config.digest.time == "07:30" and config.digest.timezone == "Europe/Rome"
    assert config.serve.host == "127.0.0.1" and config.serve.password_hash_env == "LISTENER_PASSWORD_HASH"
    assert {"x", "reddit", "youtube", "facebook", "instagram"} <= set(config.networks)


def test_the_starter_as_written_sends_nothing() -> None:
    config = parse_config(STARTER, Path("listener.toml"))
    assert config.email is None and config.alerts.channels == ()


def test_the_serve_section_is_there_commented() -> None:
    serve = STARTER[STARTER.index("# [serve]") :]
    for key in (
        'host = "127.0.0.1"',
        "port = 8001",
        'public_url = ""',
        'password_hash_env = "LISTENER_PASSWORD_HASH"',
    ):
        assert f"\n# {key}" in serve
    assert "\n[serve]" not in STARTER
