"""Commands given a config that names a PostgreSQL server: each works there or says in one line why not (#22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from listener.records import AlertChange
from storage.pg.connection import connect
from storage.pg.store import PgStore

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


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


def test_reading_commands_read_the_server_the_config_names(tmp_path: Path, postgres_url: str) -> None:
    """search, status, digest --preview, alerts and export-series on a PostgreSQL config, no SQLite file."""
    config = tmp_path / "listener.toml"
    assert invoke(config, "init", "--url", postgres_url).exit_code == 0
    with PgStore.open(postgres_url) as store:
        posts = [
            Mention("x", str(i), f"aurora rimborso {i}", T0 + timedelta(minutes=i), author_handle=f"u{i}",
                    url=f"https://x.com/u{i}/status/{i}")
            for i in range(3)
        ]  # fmt: skip
        store.save_page(Page("x", "brand", posts, matches={p.native_id: ["brand"] for p in posts}))
        store.alerts.record(
            AlertChange(watch="brand", network="", kind="volume", state="opened", severity="warning",
                        started_at=T0, at=T0, observed=14, expected=2.5,
                        summary="brand: volume 14 vs 2.5 expected", explanation={}),
            ["email"],
        )  # fmt: skip
    found = invoke(config, "search", "rimborso")
    assert found.exit_code == 0, found.output
    assert [line.split()[-1] for line in found.stdout.splitlines() if " x " in line] == ["2", "1", "0"]
    status = invoke(config, "status")
    assert status.exit_code == 0, status.output
    assert "3 mentions stored in PostgreSQL database " in status.stderr
    preview = tmp_path / "digest.html"
    shown = invoke(config, "digest", "--date", "2026-11-20", "--preview", str(preview))
    assert shown.exit_code == 0, shown.output
    assert "data:image/png;base64," in preview.read_text(encoding="utf-8")
    alerts = invoke(config, "alerts")
    assert alerts.exit_code == 0 and "brand: volume 14 vs 2.5 expected" in alerts.stdout
    series = invoke(config, "export-series", "brand", "--since", "2026-11-20", "--bucket", "1h")
    assert series.exit_code == 0, series.output
    assert "2026-11-20T09:00:00+00:00,3,0" in series.stdout.splitlines()
    assert not (tmp_path / "listener.db").exists()
