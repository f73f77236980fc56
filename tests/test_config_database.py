"""``[database]``: a SQLite path by default, or a PostgreSQL URL whose password stays in the environment (#22)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from listener.cli import cli
from listener.config import parse_config
from listener.errors import ConfigError


def test_without_a_database_section_it_is_listener_db_beside_the_config(tmp_path: Path) -> None:
    config = parse_config("", tmp_path / "listener.toml")
    assert config.database == tmp_path.resolve() / "listener.db"
    assert config.postgres is None


def test_a_postgresql_url_names_the_variable_of_its_password(tmp_path: Path) -> None:
    text = '[database]\nurl = "postgresql://listener@db.example.org:5433/listener"\npassword_env = "LISTENER_PG_PASSWORD"\n'
    config = parse_config(text, tmp_path / "listener.toml")
    assert config.postgres is not None
    assert config.postgres.url == "postgresql://listener@db.example.org:5433/listener"
    assert config.postgres.password_env == "LISTENER_PG_PASSWORD"


def test_a_unix_socket_url_without_password_env_is_fine(tmp_path: Path) -> None:
    text = '[database]\nurl = "postgresql:///listener?host=/run/postgresql"\n'
    config = parse_config(text, tmp_path / "listener.toml")
    assert config.postgres is not None
    assert config.postgres.password_env is None


def test_a_fleets_lease_lasts_five_minutes_unless_set(tmp_path: Path) -> None:
    """How long a dead daemon's sources wait before another daemon takes them (listener.fleet)."""
    url = '[database]\nurl = "postgresql:///listener?host=/run/postgresql"\n'
    assert (config := parse_config(url, tmp_path / "listener.toml").postgres) and config.lease_seconds == 300
    short = parse_config(url + "lease_seconds = 2.5\n", tmp_path / "listener.toml").postgres
    assert short is not None and short.lease_seconds == 2.5


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://listener:hunter2@db.example.org/listener",
        "postgres://db/listener?sslmode=require&password=hunter2",
    ],
)
def test_the_error_about_a_password_in_the_url_never_repeats_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f'[database]\nurl = "{url}"\n', tmp_path / "listener.toml")
    assert "holds a password" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_unset_password_variable_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "listener.toml"
    path.write_text(
        '[database]\nurl = "postgresql://listener@db.example.org/listener"\npassword_env = "LISTENER_PG_PW"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "watches"], env={"LISTENER_PG_PW": ""})
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: database.password_env: the environment variable LISTENER_PG_PW is not set; "
        "export it with the server's password (or remove password_env to use ~/.pgpass)\n"
    )
    assert not (tmp_path / "listener.db").exists()
