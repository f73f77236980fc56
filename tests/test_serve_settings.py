"""``[serve]`` (#21): where the inbox listens, the one-line errors of its keys, and the inbox links."""

from __future__ import annotations

from pathlib import Path

import pytest

from listener.config import parse_config
from listener.errors import ConfigError
from listener.serve_settings import ServeSettings, is_loopback


def serve(text: str) -> ServeSettings:
    return parse_config(text, Path("listener.toml")).serve


def test_defaults_bind_to_loopback_without_links() -> None:
    settings = serve("")
    assert (settings.host, settings.port, settings.public_url) == ("127.0.0.1", 8001, "")
    assert settings.password_hash_env == "LISTENER_PASSWORD_HASH"
    assert settings.inbox_url("stories") is None


def test_inbox_links_join_with_one_slash() -> None:
    settings = serve('[serve]\npublic_url = "https://inbox.example.org/"\n')
    assert settings.inbox_url() == "https://inbox.example.org"
    assert settings.inbox_url("/stories/12") == "https://inbox.example.org/stories/12"
    assert serve('[serve]\npublic_url = "http://10.0.0.5:8001"\n').inbox_url("s") == "http://10.0.0.5:8001/s"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('host = "0.0.0.0"\npassword_hash_env = ""',
         "listener.toml: serve: host '0.0.0.0' is reachable from other machines: set password_hash_env "
         'to the variable holding the password hash, or use host = "127.0.0.1"'),
        ("port = 0", "listener.toml: serve.port: Input should be greater than or equal to 1 (got 0)"),
        ("port = 65536", "listener.toml: serve.port: Input should be less than or equal to 65535 (got 65536)"),
        ('public_url = "inbox.example.org"',
         "listener.toml: serve.public_url: not an http(s) address; write it like https://example.org"),
        ('public_url = "ftp://inbox.example.org"',
         "listener.toml: serve.public_url: not an http(s) address; write it like https://example.org"),
        ('password_hash_env = "pbkdf2_sha256$480000$abc"',
         "listener.toml: serve.password_hash_env: must be the NAME of an environment variable holding the "
         "secret (like X_BEARER_TOKEN), never the secret itself"),
        ("prot = 8002", "listener.toml: serve.prot: unknown key; did you mean 'port'?"),
    ],
)  # fmt: skip
def test_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        serve(f"[serve]\n{text}\n")
    assert str(caught.value) == message


def test_a_public_host_is_accepted_with_a_hash_variable_not_checked_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The variable is the serve command's to read: a config check runs where the service's environment is not."""
    monkeypatch.delenv("INBOX_HASH", raising=False)
    settings = serve('[serve]\nhost = "0.0.0.0"\npassword_hash_env = "INBOX_HASH"\n')
    assert (settings.host, settings.password_hash_env) == ("0.0.0.0", "INBOX_HASH")
    assert serve('[serve]\nhost = "::1"\npassword_hash_env = ""\n').password_hash_env == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("inbox.example.org", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
