"""A plug-in adds a network, an alert channel and a detector without touching listener's code.

The plug-in below is what a third-party package would ship: one module of hook
implementations. It is registered on the running plugin manager here, and through a
``listener`` entry point of an installed distribution in the last tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

import collectors
from collectors.base import Collector, Context, NetworkSettings
from listener import plugins
from listener.alerts.evaluate import evaluate
from listener.alerts.settings import AlertSettings
from listener.analysis import Finding
from listener.collect import collect
from listener.config import parse_config
from listener.cycle import after_collect
from listener.errors import ConfigError
from listener.model import Feed, Mention, Page, Watch
from listener.plugins import Inputs, hookimpl
from listener.query import parse
from tests.backends import Backend

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WATCHES = """\
[[watches]]
name = "brand"
query = "aurora"
"""
NETWORK = """
[networks.tinynet]
posts = ["aurora espresso, lovely as ever", "aurora announces a recall of its grinders"]
"""
CHANNEL = """
[alerts]
channels = ["inbox"]
"""
CONFIG = WATCHES + NETWORK + CHANNEL


class TinySettings(NetworkSettings):
    posts: tuple[str, ...] = ()


class TinyCollector(Collector):
    """A network whose whole API is the list of posts in its config section."""

    name: ClassVar[str] = "tinynet"
    Settings: ClassVar[type[NetworkSettings]] = TinySettings

    def __init__(
        self, settings: TinySettings, env: Mapping[str, str], context: Context | None = None
    ) -> None:
        super().__init__(settings, env, context)
        self.posts = settings.posts

    def fetch(self, source: Watch | Feed, cursor: str | None, budget: int | None = None) -> Iterator[Page]:
        mentions = [
            Mention("tinynet", f"t{i}", text, NOW - timedelta(minutes=30 - i), author_handle="someone")
            for i, text in enumerate(self.posts)
        ]
        yield Page("tinynet", source.name, mentions, cursor="end")


class Inbox:
    """A channel that keeps what it is given."""

    name: ClassVar[str] = "inbox"

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def send(self, message: Any) -> None:
        self.messages.append(message)


class RecallDetector:
    """Every mention that says "recall" opens a critical incident of its own."""

    name = "recall"
    inputs = ("mentions",)
    words: ClassVar[dict[str, dict[str, str]]] = {"en": {"recall": "recall mention"}}

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
        assert inputs.watch is not None and inputs.series is None  # only what it asked for
        found = []
        for m in inputs.mentions:
            if "recall" in m.text:
                at = datetime.fromisoformat(m.created_at)
                found.append(
                    Finding(
                        kind="recall", at=at, observed=1, expected=0, severity="critical", state="opened",
                        incident_start=at, summary=f"{inputs.watch.name}: a recall: {m.text}",
                    )
                )  # fmt: skip
        return found


class TinyPlugin:
    def __init__(self) -> None:
        self.inbox = Inbox()

    @hookimpl
    def register_collectors(self) -> dict[str, Any]:
        return {"tinynet": TinyCollector}

    @hookimpl
    def register_channels(self) -> dict[str, Any]:
        return {"inbox": lambda settings, email, env: self.inbox}

    @hookimpl
    def register_detectors(self) -> list[Any]:
        return [RecallDetector()]


@pytest.fixture
def plugin() -> Iterator[TinyPlugin]:
    pm = plugins.load_plugins()
    plugin = TinyPlugin()
    pm.register(plugin, name="tiny")
    yield plugin
    pm.unregister(name="tiny")


def test_without_the_plugin_its_names_are_unknown(tmp_path: Path) -> None:
    path = tmp_path / "listener.toml"
    with pytest.raises(ConfigError, match=r"networks\.tinynet: unknown network"):
        parse_config(WATCHES + NETWORK, path)
    with pytest.raises(ConfigError, match=r"channels\[0\]: Input should be 'email', 'apprise' or 'webhook'"):
        parse_config(WATCHES + CHANNEL, path)


def test_a_plugin_network_channel_and_detector_work_end_to_end(
    plugin: TinyPlugin, backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
    config = parse_config(CONFIG, tmp_path / "listener.toml")
    assert config.alerts.channels == ("inbox",) and isinstance(config.networks["tinynet"], TinySettings)
    assert "tinynet" in collectors.REGISTRY and collectors.load("tinynet") is TinyCollector

    outcomes = collect(store, config.networks, config.watches, env={}, now=lambda: NOW)
    assert [(o.network, o.source, o.new, o.error) for o in outcomes] == [("tinynet", "brand", 2, None)]
    stored = backend.rows("SELECT network, native_id FROM mentions ORDER BY native_id")
    assert stored == [("tinynet", "t0"), ("tinynet", "t1")]

    report = after_collect(store, config, {}, NOW, scorer=lambda s: 0)
    [alert] = store.alerts.list()
    assert (alert.kind, alert.watch, alert.severity, alert.state) == ("recall", "brand", "critical", "open")
    assert alert.summary == "brand: a recall: aurora announces a recall of its grinders"
    assert alert.explanation["what"]["metric"] == "recall"  # explained like any watch's incident
    assert (report.alerts, report.news, report.sent, report.failed) == (1, 1, 1, 0)
    [message] = plugin.inbox.messages
    assert message.subject.startswith("[listener] CRITICAL new: recall mention brand: 1 vs expected 0.0")
    # was "- tinynet someone (0): ...": the bare engagement count is gone, the post's local time is there
    assert re.search(r"^- tinynet · someone · \w{3} \d\d \d\d:\d\d: aurora announces a recall of its grinders",
                     message.text, re.M), message.text  # fmt: skip
    assert message.data["summary"] == alert.summary

    again = after_collect(store, config, {}, NOW + timedelta(minutes=5), scorer=lambda s: 0)
    assert (again.news, again.sent, len(plugin.inbox.messages)) == (0, 0, 1)  # the same incident, stored once


class Broken:
    name = "broken"
    inputs = ("mentions",)

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
        raise RuntimeError("a bug in a plug-in")


class Trespasser(RecallDetector):
    name = "trespasser"  # but reports "recall" findings


def test_a_failing_detector_is_logged_and_the_others_go_on(
    plugin: TinyPlugin, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = backend.store
    pm = plugins.load_plugins()

    class Extra:
        @hookimpl
        def register_detectors(self) -> list[Any]:
            return [Broken(), Trespasser()]

    pm.register(Extra(), name="extra")
    try:
        store.sync_watches([("brand", "aurora")])
        mention = Mention("tinynet", "1", "aurora recall", NOW - timedelta(minutes=5))
        store.save_page(Page("tinynet", "brand", [mention], matches={"1": ["brand"]}), NOW)
        watches = [Watch("brand", "aurora", parse("aurora"))]
        found = evaluate(store, watches, [], AlertSettings(), NOW)
    finally:
        pm.unregister(name="extra")
    assert [a.kind for a in found.changes] == ["recall"]
    failed = sorted(r.getMessage().split(";")[0] for r in caplog.records if r.levelname == "ERROR")
    assert failed == [
        "detector broken failed on watch 'brand'",
        "detector trespasser failed on watch 'brand'",
    ]


def test_a_detector_with_unknown_inputs_is_refused(plugin: TinyPlugin) -> None:
    class Odd:
        name, inputs = "odd", ("tea leaves",)

        def detect(self, inputs: Inputs, now: datetime) -> list[Finding]:
            return []

    class Registers:
        @hookimpl
        def register_detectors(self) -> list[Any]:
            return [Odd()]

    pm = plugins.load_plugins()
    pm.register(Registers(), name="odd")
    try:
        with pytest.raises(TypeError, match="detector 'odd': needs a name without ':', inputs from"):
            plugins.detectors()
    finally:
        pm.unregister(name="odd")


PACKAGE = '''\
"""An installed plug-in: its names are strings, imported when used."""

from listener.plugins import hookimpl
from collectors.base import Collector, NetworkSettings


class Feed(Collector):
    name = "tinyfeed"
    Settings = NetworkSettings


def echo(settings, email, env):
    return Echo()


class Echo:
    name = "echo"

    def send(self, message):
        pass


class Nothing:
    name = "nothing"
    inputs = ("runs",)

    def detect(self, inputs, now):
        return []


@hookimpl
def register_collectors():
    return {"tinyfeed": "listener_tinyplug:Feed"}


@hookimpl
def register_channels():
    return {"echo": "listener_tinyplug:echo"}


@hookimpl
def register_detectors():
    return [Nothing()]
'''


def test_an_installed_package_is_loaded_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "listener_tinyplug.py").write_text(PACKAGE, encoding="utf-8")
    dist = tmp_path / "listener_tinyplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: listener-tinyplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[listener]\ntinyplug = listener_tinyplug\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        pm = plugins.reload_plugins()
        assert pm.get_plugin("tinyplug") is not None
        assert collectors.load("tinyfeed").name == "tinyfeed"
        assert AlertSettings(channels=("email", "echo")).channels == ("email", "echo")
        assert list(plugins.detectors()) == ["volume", "negative", "health", "own-account", "nothing"]
    finally:
        monkeypatch.undo()
        sys.modules.pop("listener_tinyplug", None)
        plugins.reload_plugins()
    assert "tinyfeed" not in collectors.REGISTRY


def test_building_the_plugin_manager_imports_no_pandas_or_scipy() -> None:
    code = textwrap.dedent(
        """
        import sys
        import collectors
        from listener import plugins
        plugins.load_plugins()
        assert sorted(collectors.REGISTRY) and plugins.channels()
        print(sorted(m for m in ("pandas", "scipy", "sklearn", "numpy") if m in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
