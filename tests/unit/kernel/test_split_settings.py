"""HUB_CONTEXTS and HUB_REMOTE_<CONTEXT>_URL: a process serves some contexts and is told
where the others it calls live; a deployment that cannot work is refused at start."""

from __future__ import annotations

import pytest

from hub.app import context_modules, load_settings, served_modules
from hub.kernel.settings import SettingsError


def test_unset_serves_every_context_and_needs_no_remote() -> None:
    s = load_settings(environ={})
    assert s.contexts == ()
    assert [m.name for m in served_modules(s, context_modules())] == [
        "identity",
        "content",
        "communication",
        "workflow",
    ]


def test_identity_alone_needs_nothing_remote() -> None:
    s = load_settings(environ={"HUB_CONTEXTS": "identity"})
    assert [m.name for m in served_modules(s, context_modules())] == ["identity"]


def test_the_others_need_identity_remote_and_get_it() -> None:
    s = load_settings(
        environ={
            "HUB_CONTEXTS": " workflow, content ,communication",
            "HUB_REMOTE_IDENTITY_URL": "http://identity.internal:8000",
        }
    )
    # Dependency order, whatever order HUB_CONTEXTS lists them in.
    assert [m.name for m in served_modules(s, context_modules())] == [
        "content",
        "communication",
        "workflow",
    ]
    assert s.remote_url("identity") == "http://identity.internal:8000"
    assert s.remote_url("content") is None


def test_a_called_context_without_its_url_is_refused() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_CONTEXTS": "content,communication"})
    assert str(err.value) == (
        "HUB_REMOTE_IDENTITY_URL must be set: content, communication (served here) calls "
        "identity, which HUB_CONTEXTS leaves out"
    )
    with pytest.raises(SettingsError, match=r"^HUB_REMOTE_CONTENT_URL must be set: workflow"):
        load_settings(environ={"HUB_CONTEXTS": "workflow", "HUB_REMOTE_IDENTITY_URL": "http://i:1"})


def test_a_remote_url_for_a_served_context_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^HUB_REMOTE_IDENTITY_URL must be unset"):
        load_settings(environ={"HUB_CONTEXTS": "identity", "HUB_REMOTE_IDENTITY_URL": "http://i:1"})


def test_an_unknown_context_is_named() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB_CONTEXTS": "identity,billing"})
    assert str(err.value) == (
        "HUB_CONTEXTS must be a comma-separated list of identity, content, communication, "
        "workflow (got 'identity,billing')"
    )


@pytest.mark.parametrize("command", ["run", "worker"])
def test_the_contexts_option_is_checked_like_the_setting(command: str) -> None:
    from click.testing import CliRunner

    from hub.cli import main

    runner = CliRunner()
    # HUB_CONTEXTS listed so the runner restores it after the command set it.
    env = {"HUB_CONTEXTS": None, "HUB_REMOTE_IDENTITY_URL": None}
    result = runner.invoke(main, [command, "--contexts", "content"], env=env)
    assert result.exit_code == 1
    assert "HUB_REMOTE_IDENTITY_URL must be set: content (served here) calls identity" in (
        result.output
    )
    result = runner.invoke(main, [command, "--contexts", "billing"], env=env)
    assert result.exit_code == 1
    assert "HUB_CONTEXTS must be a comma-separated list of identity, content" in result.output
