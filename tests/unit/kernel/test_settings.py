"""Settings come from HUB_* variables, are validated at start, and production is strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.kernel.settings import DEFAULT_SECRET_KEY, SettingsError, anchor_data_dir, load_settings

STRONG = "x" * 40
ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_a_working_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "src" / "hub")
    s = load_settings(environ={})
    assert s.env == "development"
    # .hub of the checkout, whichever subdirectory the command runs from
    assert s.data_dir == ROOT / ".hub"
    assert s.database_url is None
    assert s.redis_url is None
    assert s.max_body_bytes == 10 * 1024 * 1024
    assert s.log_format == "console"
    s.check_production_safety()  # development never refuses


def test_environment_values_are_parsed_and_typed() -> None:
    s = load_settings(
        environ={
            "HUB_MAX_BODY_BYTES": "2048",
            "HUB_CORS_ORIGINS": "https://a.example, https://b.example",
            "HUB_ALLOW_EMBEDDED": "yes",
            "HUB_DATA_DIR": "/srv/hub",
            "UNRELATED": "ignored",
        }
    )
    assert s.max_body_bytes == 2048
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.allow_embedded is True
    assert s.data_dir == Path("/srv/hub")


def _checkout(root: Path, name: str = "hub") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0"\n')
    return root


def test_a_relative_data_dir_is_anchored_to_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = _checkout(tmp_path / "hub")
    _checkout(checkout / "vendor" / "lib", name="lib")  # another project's pyproject
    deep = checkout / "vendor" / "lib" / "src"
    deep.mkdir()
    assert anchor_data_dir(Path(".hub"), deep) == checkout / ".hub"
    assert anchor_data_dir(Path("var/data"), deep) == checkout / "var" / "data"
    assert anchor_data_dir(Path(".hub"), checkout) == checkout / ".hub"

    monkeypatch.chdir(deep)
    assert load_settings(environ={}).data_dir == checkout / ".hub"
    assert load_settings(environ={"HUB_DATA_DIR": "state"}).data_dir == checkout / "state"
    assert load_settings(environ={"HUB_DATA_DIR": "/srv/hub"}).data_dir == Path("/srv/hub")


def test_an_existing_data_dir_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    project = tmp_path / "installed"  # no checkout: hub installed with pip
    (project / "docs" / "drafts").mkdir(parents=True)
    data = Path(f".hub-{tmp_path.name}")  # no ancestor of tmp_path holds one by that name
    assert anchor_data_dir(data, project / "docs") == project / "docs" / data
    (project / data).mkdir()
    (project / data / ".owner.lock").touch()  # written by the first command that ran here
    assert anchor_data_dir(data, project / "docs" / "drafts") == project / data
    mail_only = tmp_path / "mailonly"
    (mail_only / "data" / "mail").mkdir(parents=True)
    (mail_only / "sub").mkdir()
    assert anchor_data_dir(Path("data"), mail_only / "sub") == mail_only / "data"


def test_without_checkout_or_data_dir_the_current_directory_anchors(tmp_path: Path) -> None:
    # a name no ancestor of tmp_path can hold, so the walk up finds nothing
    name = Path(f"hub-data-{tmp_path.name}-unused")
    assert anchor_data_dir(name, tmp_path) == tmp_path / name
    assert anchor_data_dir(Path("/abs/hub"), tmp_path) == Path("/abs/hub")
    assert anchor_data_dir(Path("~/hub"), tmp_path) == Path.home() / "hub"


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"HUB_MAX_BODY_BYTES": "ten"}, "HUB_MAX_BODY_BYTES"),
        ({"HUB_MAX_BODY_BYTES": "0"}, "HUB_MAX_BODY_BYTES"),
        ({"HUB_ENV": "staging"}, "HUB_ENV"),
        ({"HUB_ALLOW_EMBEDDED": "maybe"}, "HUB_ALLOW_EMBEDDED"),
        ({"HUB_LOG_FORMAT": "xml"}, "HUB_LOG_FORMAT"),
    ],
)
def test_invalid_values_name_the_variable(environ: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(environ=environ)


def test_production_refuses_embedded_servers_and_default_secret() -> None:
    s = load_settings(environ={"HUB_ENV": "production"})
    assert s.log_format == "json"
    with pytest.raises(SettingsError) as err:
        s.check_production_safety()
    message = str(err.value)
    assert "HUB_DATABASE_URL" in message
    assert "HUB_ALLOW_EMBEDDED" in message
    assert "HUB_SECRET_KEY" in message


def test_production_accepts_real_servers_and_a_strong_secret() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_REDIS_URL": "redis://cache:6379/0",
            "HUB_SECRET_KEY": STRONG,
        }
    )
    s.check_production_safety()


def test_production_explicit_overrides_are_honoured() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_ALLOW_EMBEDDED": "1",
            "HUB_SECRET_KEY": DEFAULT_SECRET_KEY,
            "HUB_ALLOW_INSECURE_DEFAULTS": "1",
        }
    )
    s.check_production_safety()


def test_short_secret_is_refused_in_production() -> None:
    s = load_settings(
        environ={
            "HUB_ENV": "production",
            "HUB_DATABASE_URL": "postgresql://db/hub",
            "HUB_REDIS_URL": "redis://cache",
            "HUB_SECRET_KEY": "short",
        }
    )
    with pytest.raises(SettingsError, match="at least 32"):
        s.check_production_safety()


def test_previous_secret_keys_are_a_list_held_to_the_same_length_rule() -> None:
    environ = {
        "HUB_ENV": "production",
        "HUB_DATABASE_URL": "postgresql://db/hub",
        "HUB_REDIS_URL": "redis://cache",
        "HUB_SECRET_KEY": STRONG,
        "HUB_SECRET_KEY_PREVIOUS": f"{'y' * 40}, {DEFAULT_SECRET_KEY}",
    }
    s = load_settings(environ=environ)
    assert s.secret_key_previous == ("y" * 40, DEFAULT_SECRET_KEY)
    s.check_production_safety()  # the development default may be left behind this way
    weak = load_settings(environ={**environ, "HUB_SECRET_KEY_PREVIOUS": f"{STRONG},short"})
    with pytest.raises(SettingsError, match="HUB_SECRET_KEY_PREVIOUS"):
        weak.check_production_safety()
