"""The config file: the starter is valid, and each broken config gives one clear line."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from listener.config import config_path, load_config, parse_config
from listener.errors import ConfigError

STARTER = files("listener").joinpath("starter.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "listener.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_starter_config_is_valid_and_resolves_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, STARTER))
    assert config.database == tmp_path.resolve() / "listener.db"
    assert [w.name for w in config.watches] == ["brand", "complaints"]
    assert config.watches[0].root is not None


def test_config_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTENER_CONFIG", raising=False)
    assert config_path(None) == Path("listener.toml")
    monkeypatch.setenv("LISTENER_CONFIG", "/etc/listener.toml")
    assert config_path(None) == Path("/etc/listener.toml")
    assert config_path("here.toml") == Path("here.toml")


WATCH = '[[watches]]\nname = "brand"\nquery = "aurora"\n'

BROKEN = [
    # (config text, the expected one-line error after "listener.toml: ")
    (
        '[database\npath = "x.db"\n',
        "line 1, column 10: invalid TOML: Expected ']' at the end of a table declaration; fix the syntax (strings need quotes, tables [brackets])",
    ),
    (
        "[database]\npath = x.db\n",
        "line 2, column 8: invalid TOML: Invalid value; fix the syntax (strings need quotes, tables [brackets])",
    ),
    (
        'name = "a"\nname = "b"\n',
        "line 2, column 11: invalid TOML: Cannot overwrite a value; fix the syntax (strings need quotes, tables [brackets])",
    ),
    ("watchs = []\n", "watchs: unknown key; did you mean 'watches'?"),
    ('[databse]\npath = "x.db"\n', "databse: unknown key; did you mean 'database'?"),
    ('[database]\npaht = "x.db"\n', "database.paht: unknown key; did you mean 'path'?"),
    ("[database]\npath = 3\n", "database.path: Input should be a valid string (got 3)"),
    (
        '[[watches]]\nname = "brand"\nqeury = "aurora"\n',
        "watches[0].qeury: unknown key; did you mean 'query'?",
    ),
    ('[[watches]]\nquery = "aurora"\n', "watches[0].name: required key is missing; add name = ..."),
    ('[[watches]]\nname = "brand"\n', "watches[0].query: required key is missing; add query = ..."),
    (
        '[[watches]]\nname = "brand"\nquery = "(aurora OR caffè"\n',
        "watches[0].query: unbalanced parenthesis: missing ')' at column 1; fix the query '(aurora OR caffè'",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = "aurora foo:bar"\n',
        "watches[0].query: unknown field 'foo': use lang:, author:, network:, site: or put it in quotes "
        "at column 8; fix the query 'aurora foo:bar'",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = ""\n',
        "watches[0].query: empty query at column 1; fix the query ''",
    ),
    (
        '[[watches]]\nname = "my brand!"\nquery = "aurora"\n',
        "watches[0].name: use 1-64 letters, digits, '.', '_' or '-'",
    ),
    (WATCH + WATCH, "watches[1].name: 'brand' is used twice; give each watch its own name"),
    ('watches = "aurora"\n', "watches: Input should be a valid list (got 'aurora')"),
    (
        '[[watches]]\nname = "brand"\nquery = 42\n',
        "watches[0].query: Input should be a valid string (got 42)",
    ),
    (
        WATCH + 'networks = "x"\n',
        "watches[0].networks: Input should be a valid list (got 'x')",
    ),
    (
        '[alerts]\ntimezone = "Europe/Roma"\n',
        "alerts.timezone: unknown time zone 'Europe/Roma'; use a name like 'Europe/Rome'",
    ),
    (
        "[alerts]\nbucket_minutes = 7\n",
        "alerts.bucket_minutes: 7 minutes: use a multiple of 5 that divides a day (5, 10, 15, 30, 60...)",
    ),
    ('[alerts]\nquiet_hours = "23-7"\n', "alerts.quiet_hours: '23-7' is not a range like '23:00-07:00'"),
    ('[alerts]\nchanels = ["email"]\n', "alerts.chanels: unknown key; did you mean 'channels'?"),
    (
        '[alerts]\nchannels = ["sms"]\n',
        "alerts.channels[0]: Input should be 'email', 'apprise' or 'webhook' (got 'sms')",
    ),
    (
        '[alerts]\nchannels = ["email"]\n',
        "alerts.channels: 'email' needs an [email] section with host, sender and recipients",
    ),
    (
        '[email]\nhost = "smtp.example.org"\nrecipients = ["me@example.org"]\n',
        "email.sender: required key is missing; add sender = ...",
    ),
    (
        '[email]\nhost = "h"\nsender = "a@b"\nrecipients = ["c@d"]\npassword_env = "hunter2-secret!"\n',
        "email.password_env: must be the NAME of an environment variable holding the secret "
        "(like X_BEARER_TOKEN), never the secret itself",
    ),
    (
        '[email]\nhost = "h"\nsender = "a@b"\nrecipients = []\n',
        "email.recipients: List should have at least 1 item after validation, not 0 (got [])",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN, ids=[e[:40] for _, e in BROKEN])
def test_a_broken_config_gives_the_expected_one_line_error(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message == f"{path}: {expected}"
    assert "\n" not in message


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file; run 'listener init'"):
        load_config(tmp_path / "nope.toml")


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "listener.toml"
    path.write_bytes('[[watches]]\nname = "caff\xe8"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"listener\.toml: not UTF-8 text .*save the file as UTF-8"):
        load_config(path)


def test_watch_networks_must_be_configured(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"watches\[0\]\.networks\[0\]: 'myspace' is not configured"):
        parse_config(WATCH + 'networks = ["myspace"]\n', tmp_path / "listener.toml")
