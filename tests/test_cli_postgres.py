"""Commands given a config that names a PostgreSQL server: each works there or says in one line why not (#22)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from listener.cli import cli
from storage.pg.connection import connect


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_init_with_url_writes_the_server_into_the_config_and_creates_its_schema(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "listener.toml"
    result = invoke(config, "init", "--url", postgres_url, "--password-env", "LISTENER_PG_PASSWORD")
    assert result.exit_code == 1  # the variable is not set: the config is written, the server not asked
    assert "the environment variable LISTENER_PG_PASSWORD is not set" in result.stderr
    text = config.read_text()
    assert f'url = "{postgres_url}"\npassword_env = "LISTENER_PG_PASSWORD"\n' in text
    assert 'path = "listener.db"' not in text
    result = invoke(config, "init", "--force", "--url", postgres_url)
    assert result.exit_code == 0, result.output
    database = postgres_url.split("?")[0].rsplit("/", 1)[1]
    host = postgres_url.split("host=")[1].replace("%2F", "/")
    assert result.stdout.splitlines()[:2] == [
        f"Wrote {config}",
        f"Created the schema on PostgreSQL database {database} on {host} (2 watches)",
    ]
    assert not (tmp_path / "listener.db").exists()
    with connect(postgres_url) as conn:
        names = conn.execute("SELECT name FROM watches ORDER BY name").fetchall()
    assert names == [("brand",), ("complaints",)]


def test_init_refuses_a_url_with_a_password_before_writing_anything(tmp_path: Path) -> None:
    config = tmp_path / "listener.toml"
    result = invoke(config, "init", "--url", "postgresql://listener:hunter2@db.example.org/listener")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "database.url: holds a password" in result.stderr and "hunter2" not in result.stderr
    assert not config.exists()
    usage = invoke(config, "init", "--password-env", "X")
    assert usage.exit_code == 2 and "--password-env goes with --url" in usage.stderr


def test_serve_says_in_one_line_that_the_inbox_needs_a_sqlite_file(tmp_path: Path) -> None:
    config = tmp_path / "listener.toml"
    config.write_text('[database]\nurl = "postgresql://listener@127.0.0.1:9/listener"\n')
    result = invoke(config, "serve")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: serve: the inbox runs on Datasette, which reads SQLite files only, and {config} "
        "names a PostgreSQL server; read it with 'listener sql', 'listener search' or psql\n"
    )
