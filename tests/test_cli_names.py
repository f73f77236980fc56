"""Watch and network names on the command line: a typo is a one-line error (exit 2), never an empty answer.

And ``listener watches`` shows a watch gone from the config as retired; ``--prune``
deletes it with what it owns, never a mention.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page, SaveResult
from storage import Store

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "listener.toml"
    assert invoke(["--config", str(path), "init"]).exit_code == 0
    with Store.open(tmp_path / "listener.db") as store:
        store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
        mention = Mention("x", "1", "aurora rimborso", NOW - timedelta(hours=1), author_handle="mario")
        store.save_page(Page("x", "brand", [mention], matches={"1": ["brand", "complaints"]}))
    return path


def invoke(args: list[str], input: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=input, catch_exceptions=False)


def run(config: Path, *args: str, input: str | None = None) -> Result:
    return invoke(["--config", str(config), *args], input)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["search", "--watch", "nope"], "Error: unknown watch 'nope' (watches: brand, complaints)"),
        (
            ["search", "aurora", "--watch", "brnad"],
            "Error: unknown watch 'brnad'; did you mean 'brand'? (watches: brand, complaints)",
        ),
        (["search", "--network", "mastodn"], "Error: unknown network 'mastodn'; did you mean 'mastodon'?"),
        (["search", "--network", "twiter"], "Error: unknown network 'twiter'; did you mean 'x'?"),
        (["authors", "--network", "redit"], "Error: unknown network 'redit'; did you mean 'reddit'?"),
        (["forget", "twittr", "mario", "--yes"], "Error: unknown network 'twittr'"),
        (["forget", "twitter", "x", "--yes"], "Error: unknown author 'x' on x: no mention by that handle"),
        (["collect", "--watch", "brnad"], "Error: unknown watch 'brnad'; did you mean 'brand'?"),
        (["collect", "--network", "nope"], "Error: unknown network 'nope' (networks: bluesky, hackernews"),
        (
            ["collect", "--network", "twitter"],
            "Error: 'x' is not an enabled network; add a [networks.x] section",
        ),
    ],
)
def test_an_unknown_name_is_one_line_and_exit_2(config: Path, args: list[str], line: str) -> None:
    result = run(config, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr


def test_a_typo_in_forget_deletes_nothing(config: Path) -> None:
    assert run(config, "forget", "twitter", "x", "--yes").exit_code == 2
    assert run(config, "forget", "mastodon", "mario", "--yes").exit_code == 2  # mario posted on x
    with Store.open(config.parent / "listener.db") as store:
        assert store.count_mentions() == 1
    done = run(config, "forget", "twitter", "@Mario", "--yes")  # the alias, as the config suggests it
    assert done.exit_code == 0 and done.stdout == "Deleted 1 mentions by @Mario on x.\n"


def test_the_config_alias_of_a_network_is_accepted(config: Path) -> None:
    result = run(config, "search", "aurora", "--network", "Twitter", "--json")
    assert result.exit_code == 0
    assert [(h["network"], h["native_id"]) for h in json.loads(result.stdout)] == [("x", "1")]


def test_a_database_without_config_knows_its_own_names(config: Path) -> None:
    db = str(config.parent / "listener.db")
    config.unlink()
    assert invoke(["--db", db, "search", "--watch", "complaints", "--csv"]).exit_code == 0
    assert invoke(["--db", db, "search", "--network", "x", "--csv"]).exit_code == 0
    typo = invoke(["--db", db, "search", "--watch", "complaint"])
    assert typo.exit_code == 2
    assert (
        typo.stderr
        == "Error: unknown watch 'complaint'; did you mean 'complaints'? (watches: brand, complaints)\n"
    )


def test_watches_lists_a_renamed_watch_as_retired(config: Path) -> None:
    config.write_text(config.read_text().replace('name = "complaints"', 'name = "refunds"'))
    rows = run(config, "watches", "--csv").stdout.splitlines()
    assert rows[0] == "name,query,mentions,last_24h,state"
    assert [(r.split(",")[0], r.split(",")[-1]) for r in rows[1:]] == [
        ("brand", "active"), ("complaints", "retired"), ("refunds", "active"),
    ]  # fmt: skip


def counts(db: Path, watch_id: int) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        found = {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE watch_id = ?", (watch_id,)).fetchone()[0]
            for table in ("mention_watches", "watch_buckets", "watch_hours", "source_hours", "watch_times",
                          "watch_totals")
        }  # fmt: skip
        for table in ("cursors", "source_health"):
            name = conn.execute("SELECT name FROM watches WHERE id = ?", (watch_id,)).fetchone()
            watch = name[0] if name else "complaints"
            found[table] = conn.execute(f"SELECT count(*) FROM {table} WHERE watch = ?", (watch,)).fetchone()[
                0
            ]
        found["watches"] = conn.execute("SELECT count(*) FROM watches WHERE id = ?", (watch_id,)).fetchone()[
            0
        ]
        return found
    finally:
        conn.close()


def test_prune_removes_the_retired_watch_and_what_it_owns_never_a_mention(config: Path) -> None:
    db = config.parent / "listener.db"
    with Store.open(db) as store:
        run_id = store.start_run("x", "complaints", NOW - timedelta(minutes=5))
        store.finish_run(run_id, SaveResult(new=1), fetched=1, now=NOW - timedelta(minutes=4))
        store.save_page(Page("x", "complaints", [], cursor="next-page"))
        ids = dict(store.conn.execute("SELECT name, id FROM watches"))
    before = counts(db, ids["complaints"])
    assert all(before.values()), before  # every table held something of the watch
    kept = counts(db, ids["brand"])
    config.write_text(config.read_text().replace('name = "complaints"', 'name = "refunds"'))

    asked = run(config, "watches", "--prune", input="n\n")
    assert asked.exit_code == 1 and "Delete the retired watches complaints (1 mentions)?" in asked.stdout
    assert counts(db, ids["complaints"]) == before  # refused: nothing went

    pruned = run(config, "watches", "--prune", "--yes")
    assert pruned.exit_code == 0
    assert pruned.stdout == "Removed watch complaints and its links to 1 mentions (the mentions stay).\n"
    assert set(counts(db, ids["complaints"]).values()) == {0}
    assert counts(db, ids["brand"]) == kept
    with Store.open(db) as store:
        assert store.count_mentions() == 1
        assert [w.name for w in store.watches()] == ["brand", "refunds"]
    assert run(config, "search", "rimborso", "--csv").stdout.count("\n") == 2  # the mention is still found
    again = run(config, "watches", "--prune", "--yes")
    assert again.exit_code == 0 and again.stdout == "" and "No retired watches" in again.stderr


def test_prune_without_a_config_is_refused(config: Path) -> None:
    db = str(config.parent / "listener.db")
    config.unlink()
    result = invoke(["--db", db, "watches", "--prune", "--yes"])
    assert result.exit_code == 2 and "--prune keeps the watches the config names" in result.stderr
