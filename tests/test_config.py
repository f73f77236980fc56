"""The config file: the starter is valid, and each broken config gives one clear line."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from listener.cli import cli
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
        "watches[0].query: unknown field 'foo': use lang:, author:, network:, site:, sentiment: or put it in quotes "
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
    (
        '[networks.mastodon]\ninstances = ["not a url"]\n',
        "networks.mastodon.instances: not an http(s) address; write it like mastodon.social or https://mastodon.social",
    ),
    (
        '[networks.mastodon]\ninstances = "mastodon.social"\n',
        "networks.mastodon.instances: Input should be a valid tuple (got 'mastodon.social')",
    ),
    (
        '[networks.x]\napi_base_url = "ftp://x"\n',
        "networks.x.api_base_url: not an http(s) address; write it like https://example.org",
    ),
    (
        '[networks.reddit]\noauth_url = "reddit.com"\n',
        "networks.reddit.oauth_url: not an http(s) address; write it like https://example.org",
    ),
    ('[networks.x]\nenabled = "yes"\n', "networks.x.enabled: must be true or false, without quotes"),
    ("[networks.x]\nenabled = 1\n", "networks.x.enabled: must be true or false, without quotes"),
    ('[networks.youtube]\npacing = "no"\n', "networks.youtube.pacing: must be true or false, without quotes"),
    (
        "[networks.myspace]\n",
        "networks.myspace: unknown network; known: bluesky, facebook, hackernews, instagram, mastodon, reddit, rss, x, youtube",
    ),
    ("[networks.twitter]\n", "networks.twitter: unknown network; did you mean 'x'?"),
    (
        "[networks.x]\nintervl_minutes = 5\n",
        "networks.x.intervl_minutes: unknown key; did you mean 'interval_minutes'?",
    ),
    (
        "[networks.x]\ninterval_minutes = 0\n",
        "networks.x.interval_minutes: Input should be greater than or equal to 1 (got 0)",
    ),
    (
        '[networks.x]\ninterval_minutes = "often"\n',
        "networks.x.interval_minutes: Input should be a valid integer, unable to parse string as an integer (got 'often')",
    ),
    (
        '[networks.x]\nbearer_token_env = "AAAAAAAAAAAAAAAAAAAAAxyz%2Fsecret"\n',
        "networks.x.bearer_token_env: must be the NAME of an environment variable holding the secret "
        "(like X_BEARER_TOKEN), never the secret itself",
    ),
    (
        '[networks.rss]\nfeeds = "https://example.org/feed"\n',
        "networks.rss.feeds: Input should be a valid dictionary (got 'https://example.org/feed')",
    ),
    (
        "[networks.hackernews]\nretry_attempts = 99\n",
        "networks.hackernews.retry_attempts: Input should be less than or equal to 10 (got 99)",
    ),
    (
        "[networks.instagram]\nhashtags = [" + ",".join(f'"t{i}"' for i in range(31)) + "]\n",
        "networks.instagram.hashtags: 31 hashtags; Instagram allows 30 distinct hashtags per 7 days, keep at most 30",
    ),
    ("[networks]\nx = 3\n", "networks.x: Input should be a valid dictionary (got 3)"),
    ("networks = []\n", "networks: Input should be a valid dictionary (got [])"),
    ('[database]\npath = ""\n', "database.path: String should have at least 1 character (got '')"),
    (
        '[database]\nurl = "postgresql://listener:hunter2@db.example.org/listener"\n',
        "database.url: holds a password; remove it from the URL and set password_env to the name of the "
        "environment variable that holds it",
    ),
    (
        '[database]\nurl = "postgresql://db.example.org/listener?password=hunter2"\n',
        "database.url: holds a password; remove it from the URL and set password_env to the name of the "
        "environment variable that holds it",
    ),
    (
        '[database]\nurl = "mysql://db.example.org/listener"\n',
        "database.url: not a PostgreSQL URL; write it like postgresql://user@host/database",
    ),
    (
        '[database]\npath = "x.db"\nurl = "postgresql://listener@db.example.org/listener"\n',
        "database: set either path (a SQLite file) or url (a PostgreSQL server), not both",
    ),
    (
        '[database]\npassword_env = "PGPASSWORD"\n',
        "database: password_env is for a PostgreSQL server: set url too, or remove it",
    ),
    (
        '[database]\nurl = "postgresql://listener@db/listener"\npassword_env = "hunter2!"\n',
        "database.password_env: must be the NAME of an environment variable holding the secret "
        "(like X_BEARER_TOKEN), never the secret itself",
    ),
    (
        "[database]\nlease_seconds = 60\n",
        "database: lease_seconds is for a PostgreSQL server's daemons: set url too, or remove it",
    ),
    (
        '[database]\nurl = "postgresql://listener@db/listener"\nlease_seconds = 0\n',
        "database.lease_seconds: Input should be greater than 0 (got 0)",
    ),
    (
        'database = "x.db"\n',
        "database: Input should be a valid dictionary or instance of DatabaseSettings (got 'x.db')",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = "' + "(" * 400 + "a" + ")" * 400 + '"\n',
        "watches[0].query: too deeply nested: more than 20 parentheses and NOTs inside one another; simplify the "
        "query (NOT NOT a is a) at column 21; fix the query '" + "(" * 77 + "...'",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = "a ' + "NOT " * 3000 + 'b"\n',
        "watches[0].query: too deeply nested: more than 20 parentheses and NOTs inside one another; simplify the "
        "query (NOT NOT a is a) at column 83; fix the query 'a " + "NOT " * 18 + "NOT...'",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = "author:\\"\\""\n',
        "watches[0].query: author: needs a value, e.g. author:acme at column 1; fix the query 'author:\"\"'",
    ),
    (
        '[alerts]\nmin_severity = "loud"\n',
        "alerts.min_severity: Input should be 'info', 'warning' or 'critical' (got 'loud')",
    ),
    (
        "[alerts]\nbucket_minutes = -5\n",
        "alerts.bucket_minutes: Input should be greater than or equal to 1 (got -5)",
    ),
    (
        '[alerts]\nwebhook_url_env = "https://hooks.slack.com/x"\n',
        "alerts.webhook_url_env: must be the NAME of an environment variable holding the secret "
        "(like X_BEARER_TOKEN), never the secret itself",
    ),
    (
        '[digest]\ntimezone = "Mars/Olympus"\n',
        "digest.timezone: unknown time zone 'Mars/Olympus'; use a name like 'Europe/Rome'",
    ),
    (
        '[email]\nhost = "h"\nsender = "a@b"\nrecipients = ["c@d"]\nport = "smtp"\n',
        "email.port: Input should be a valid integer, unable to parse string as an integer (got 'smtp')",
    ),
    (
        '[email]\nhost = "h"\nsender = "a@b"\nrecipients = "c@d"\n',
        "email.recipients: Input should be a valid list (got 'c@d')",
    ),
    (
        "\x00\n",
        "line 1, column 1: invalid TOML: Invalid statement; fix the syntax (strings need quotes, tables [brackets])",
    ),
    (
        '[database]\npath = "x.db"\n[database]\npath = "y.db"\n',
        "line 3, column 10: invalid TOML: Cannot declare ('database',) twice; fix the syntax (strings need quotes, tables [brackets])",
    ),
    (
        '[[watches]]\nname = "brand"\nquery = """aurora\n',
        "at end of file: invalid TOML: Unterminated string; fix the syntax (strings need quotes, tables [brackets])",
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


def test_there_are_fifty_broken_configs_and_no_command_prints_a_traceback_on_any(tmp_path: Path) -> None:
    """Every broken config, through a real command: exit 1, one ``Error:`` line, the same message."""
    assert len(BROKEN) >= 50
    failures = []
    for i, (text, expected) in enumerate(BROKEN):
        path = tmp_path / f"c{i}" / "listener.toml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        for command in (["status"], ["collect"]):
            result = CliRunner().invoke(cli, ["--config", str(path), *command])
            if (result.exit_code, result.stderr) != (1, f"Error: {path}: {expected}\n"):
                failures.append((i, command, result.exit_code, result.stderr, result.exception))
    assert failures == []


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
