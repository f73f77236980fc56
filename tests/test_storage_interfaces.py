"""``Store`` keeps the promises of ``storage.interfaces``, and the interfaces stay free of SQLite.

The assignments below are checked by mypy (``mypy --strict storage tests/test_storage_interfaces.py``);
the rest checks at run time that each Protocol's members exist with the same
parameters, and that each concern's class offers nothing its Protocol does not
declare, so a second backend written against the Protocols misses nothing.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, Protocol

import pytest

from storage import Store
from storage.accounts import AccountQueries
from storage.alerts import AlertTable
from storage.authors import AuthorTable
from storage.clusters import ClusterTable
from storage.digest import DigestQueries
from storage.interfaces import (
    AccountReads,
    AlertStore,
    AuthorStore,
    ClusterStore,
    DigestReads,
    ListenerStore,
    MentionStore,
    StoryReads,
    TriageStore,
    WatchRunStore,
)
from storage.mentions import MentionMethods
from storage.pg.accounts import PgAccounts
from storage.pg.alerts import PgAlerts
from storage.pg.authors import PgAuthors
from storage.pg.clusters import PgClusters
from storage.pg.digest import PgDigest
from storage.pg.mentions import PgMentions
from storage.pg.runs import PgRuns
from storage.pg.store import PgStore
from storage.pg.stories import PgStories
from storage.pg.triage import PgTriage
from storage.runs import WatchRunMethods
from tests.backends import Backend

STORAGE = Path(__file__).resolve().parents[1] / "storage"

# (Protocol, the class that implements it, the class of that concern alone)
CONCERNS: list[tuple[type[Any], type[Any], type[Any] | None]] = [
    (MentionStore, Store, MentionMethods),
    (WatchRunStore, Store, WatchRunMethods),
    (AlertStore, AlertTable, AlertTable),
    (DigestReads, DigestQueries, DigestQueries),
    (AuthorStore, AuthorTable, AuthorTable),
    (ClusterStore, ClusterTable, ClusterTable),
    (AccountReads, AccountQueries, AccountQueries),
    (ListenerStore, Store, None),
]
# PostgreSQL's twins (#22): ``PgStore`` and the tables it attaches.
PG_CONCERNS: list[tuple[type[Any], type[Any], type[Any] | None]] = [
    (MentionStore, PgStore, None),
    (WatchRunStore, PgStore, None),
    (AlertStore, PgAlerts, PgAlerts),
    (DigestReads, PgDigest, PgDigest),
    (AuthorStore, PgAuthors, PgAuthors),
    (ClusterStore, PgClusters, PgClusters),
    (AccountReads, PgAccounts, PgAccounts),
    (TriageStore, PgTriage, PgTriage),
    (StoryReads, PgStories, PgStories),
    (ListenerStore, PgStore, None),
]


def members(protocol: type[Any]) -> set[str]:
    """The methods and properties a Protocol declares, its bases' included."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass is Protocol or not getattr(klass, "_is_protocol", False):
            continue
        names |= {
            name
            for name, value in vars(klass).items()
            if (not name.startswith("_") or name in ("__enter__", "__exit__"))
            and (inspect.isfunction(value) or isinstance(value, property))
        }
    return names


def public_methods(cls: type[Any]) -> set[str]:
    return {
        name for name, value in vars(cls).items() if not name.startswith("_") and inspect.isfunction(value)
    }


def test_store_and_its_tables_type_check_as_the_protocols(store: Store) -> None:
    backend: ListenerStore = store
    mentions: MentionStore = store
    runs: WatchRunStore = store
    alerts: AlertStore = store.alerts
    digest: DigestReads = store.digest
    authors: AuthorStore = store.authors
    clusters: ClusterStore = store.clusters
    accounts: AccountReads = store.accounts
    triage: TriageStore = store.triage
    stories: StoryReads = store.stories
    assert all((backend, mentions, runs, alerts, digest, authors, clusters, accounts, triage, stories))


@pytest.mark.parametrize(
    ("protocol", "implementation", "concern"),
    CONCERNS + PG_CONCERNS,
    ids=[c[0].__name__ for c in CONCERNS] + [f"pg-{c[0].__name__}" for c in PG_CONCERNS],
)
def test_each_protocol_member_exists_with_the_same_parameters(
    protocol: type[Any], implementation: type[Any], concern: type[Any] | None
) -> None:
    for name in sorted(members(protocol)):
        declared = getattr(protocol, name)
        if isinstance(declared, property):
            continue  # the attached tables, set in __init__: checked on an instance below and by mypy
        assert hasattr(implementation, name), name
        actual = inspect.signature(getattr(implementation, name))  # @guarded keeps __wrapped__
        expected = inspect.signature(declared)
        shape = [(p.name, p.kind, p.default) for p in expected.parameters.values()]
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == shape, name


@pytest.mark.parametrize(
    ("protocol", "implementation", "concern"), CONCERNS[:-1], ids=[c[0].__name__ for c in CONCERNS[:-1]]
)
def test_each_concern_offers_only_what_its_protocol_declares(
    protocol: type[Any], implementation: type[Any], concern: type[Any]
) -> None:
    """A public method added to a concern without its Protocol would be one a second backend lacks."""
    assert public_methods(concern) == members(protocol)


def test_the_whole_store_is_its_concerns_and_attached_tables(backend: Backend) -> None:
    attached = {"alerts": AlertStore, "digest": DigestReads, "authors": AuthorStore,
                "clusters": ClusterStore, "accounts": AccountReads, "triage": TriageStore,
                "stories": StoryReads}  # fmt: skip
    for name, protocol in attached.items():
        assert members(protocol) <= set(dir(getattr(backend.store, name))), name
    if backend.name == "sqlite":
        own = public_methods(MentionMethods) | public_methods(WatchRunMethods) | public_methods(Store)
    else:
        own = set().union(*(public_methods(base) for base in PgStore.__mro__ if base is not object))
    assert own == members(ListenerStore) - set(attached) - {"__enter__", "__exit__"}


def test_postgresql_offers_the_run_and_account_promises_and_nothing_else(postgres_url: str) -> None:
    """``PgRuns`` is ``WatchRunStore`` but the two methods ``PgMentions`` has; the assignments are for mypy."""
    assert public_methods(PgRuns) == members(WatchRunStore) - {"sync_watches", "get_cursor"}
    assert {"sync_watches", "get_cursor"} <= public_methods(PgMentions)
    with PgStore.open(postgres_url) as pg:
        runs: WatchRunStore = pg
        accounts: AccountReads = pg.accounts
        assert runs.jobs() == [] and accounts.replies("x", ["1"]) == {"1": (0, 0)}


def test_every_public_storage_method_is_guarded() -> None:
    """A failing disk leaves every concern as a one-line StorageError, not a traceback."""
    for cls in (Store, MentionMethods, WatchRunMethods, AlertTable, DigestQueries, AuthorTable,
                ClusterTable, AccountQueries):  # fmt: skip
        for name in public_methods(cls):
            assert hasattr(vars(cls)[name], "__wrapped__"), f"{cls.__name__}.{name}"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", ["interfaces.py", "rows.py"])
def test_the_interfaces_and_their_records_import_nothing_of_sqlite(module: str) -> None:
    names = imports(STORAGE / module)
    assert not {n for n in names if n.split(".")[0] in {"sqlite3", "sqlite_utils"}}
    assert {n for n in names if n.startswith("storage")} <= {"storage.rows"}


def test_no_storage_module_is_over_500_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in STORAGE.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 500} == {}
