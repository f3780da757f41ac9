"""Secrets declared but not available on this machine: a warning by default, an error when strict."""

from __future__ import annotations

import logging
import os

import pytest

import flyte
from flyte._secret import SecretNotFoundError
from flyte.errors import ValidationError


def _env_task(name: str, *secrets):
    env = flyte.TaskEnvironment(name=name, secrets=list(secrets))

    @env.task
    async def read() -> str:
        return ",".join(f"{s.as_env_var}={os.environ.get(s.as_env_var, '<unset>')}" for s in secrets)

    return read


@pytest.fixture
def no_secrets(isolated_flyte_home, monkeypatch):
    for var in ("FLYTE_STRICT_SECRETS", "OPENAI_API_KEY", "FLYTE_SECRET_OPENAI_KEY", "OPENAI_KEY", "DB_PW",
                "FLYTE_SECRET_DB_PASSWORD", "DB_PASSWORD", "FLYTE_SECRET_TEAM_DB_PASSWORD", "TEAM_DB_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLYTE_SECRETS_DIR", str(isolated_flyte_home / "secrets"))
    return isolated_flyte_home


def test_a_missing_secret_warns_once_naming_secret_variable_and_file_and_the_task_runs(no_secrets, monkeypatch, caplog):
    monkeypatch.setenv("FLYTE_SECRET_DB_PASSWORD", "present-value-123")
    task = _env_task(
        "sec-missing",
        flyte.Secret(key="openai-key", as_env_var="OPENAI_API_KEY"),
        flyte.Secret(key="db-password", as_env_var="DB_PW"),
    )
    env2 = flyte.TaskEnvironment(name="sec-missing-parent", depends_on=[])

    @env2.task
    async def twice() -> str:
        a = await task()
        b = await task()  # the same missing secret in the same run: no second warning
        assert a == b
        return a

    with caplog.at_level(logging.WARNING, logger="flyte"):
        out = flyte.run(twice).outputs()[0]
    assert out == "OPENAI_API_KEY=<unset>,DB_PW=present-value-123"  # what is available is resolved
    warnings = [r.getMessage() for r in caplog.records if "not available on this machine" in r.getMessage()]
    assert len(warnings) == 1, warnings
    text = warnings[0]
    assert "'openai-key'" in text and "$OPENAI_API_KEY" in text
    assert str(no_secrets / "secrets" / "openai-key") in text  # the file tried
    assert "FLYTE_STRICT_SECRETS=1" in text
    assert "present-value-123" not in caplog.text


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_strict_secrets_makes_a_missing_secret_an_error(no_secrets, monkeypatch, value):
    monkeypatch.setenv("FLYTE_STRICT_SECRETS", value)
    task = _env_task("sec-strict", flyte.Secret(key="openai-key", as_env_var="OPENAI_API_KEY"))
    with pytest.raises(SecretNotFoundError) as ei:
        flyte.run(task)
    assert "openai-key" in str(ei.value) and "OPENAI_API_KEY" in str(ei.value)


def test_strict_secrets_from_the_config_file(no_secrets, tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("secrets:\n  strict: true\n")
    monkeypatch.setenv("FLYTE_CONFIG", str(cfg))
    task = _env_task("sec-strict-cfg", flyte.Secret(key="openai-key", as_env_var="OPENAI_API_KEY"))
    with pytest.raises(SecretNotFoundError):
        flyte.run(task)
    monkeypatch.setenv("FLYTE_STRICT_SECRETS", "0")  # the variable wins over the file
    assert flyte.run(task).outputs()[0] == "OPENAI_API_KEY=<unset>"


def test_a_malformed_strict_secrets_value_is_a_clear_error(no_secrets, monkeypatch):
    monkeypatch.setenv("FLYTE_STRICT_SECRETS", "sometimes")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-present")  # even when every secret is there
    task = _env_task("sec-bad-flag", flyte.Secret(key="openai-key", as_env_var="OPENAI_API_KEY"))
    with pytest.raises(ValidationError) as ei:
        flyte.run(task)
    msg = str(ei.value)
    assert "FLYTE_STRICT_SECRETS" in msg and "'sometimes'" in msg and "true/false" in msg


def test_a_malformed_strict_value_in_the_config_file_is_a_clear_error(no_secrets, tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("secrets:\n  strict: maybe\n")
    monkeypatch.setenv("FLYTE_CONFIG", str(cfg))
    task = _env_task("sec-bad-cfg", flyte.Secret(key="openai-key", as_env_var="OPENAI_API_KEY"))
    with pytest.raises(ValidationError) as ei:
        flyte.run(task)
    assert "secrets.strict" in str(ei.value) and "'maybe'" in str(ei.value)


def test_a_present_but_empty_secret_is_a_clear_error(no_secrets, monkeypatch):
    monkeypatch.setenv("DB_PW", "")
    task = _env_task("sec-empty-env", flyte.Secret(key="db-password", as_env_var="DB_PW"))
    with pytest.raises(ValidationError) as ei:
        flyte.run(task)
    assert "secret 'db-password'" in str(ei.value) and "$DB_PW" in str(ei.value) and "non-empty" in str(ei.value)


def test_an_empty_secret_file_is_a_clear_error_naming_the_file(no_secrets):
    path = no_secrets / "secrets" / "team" / "db-password"
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    task = _env_task("sec-empty-file", flyte.Secret(key="db-password", group="team"))
    with pytest.raises(ValidationError) as ei:
        flyte.run(task)
    assert str(path) in str(ei.value) and "'team/db-password'" in str(ei.value)
