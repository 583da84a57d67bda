"""Settings resolve in one documented order: flag > GRADER_* > OPENAI_* > default."""

import pytest

from answer_grader.config import DEFAULT_MODEL, PLACEHOLDER_KEY, resolve_settings
from answer_grader.errors import ConfigError


def test_defaults_are_offline():
    s = resolve_settings(env={})
    assert (s.backend, s.model, s.base_url, s.api_key) == ("offline", DEFAULT_MODEL, None, None)


def test_auto_uses_the_llm_when_a_key_is_set():
    s = resolve_settings(env={"OPENAI_API_KEY": "sk-abc"})
    assert s.backend == "llm" and s.api_key == "sk-abc" and s.source("api_key") == "OPENAI_API_KEY"


def test_auto_uses_the_llm_for_a_base_url_with_a_placeholder_key():
    s = resolve_settings(env={"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert s.backend == "llm" and s.api_key == PLACEHOLDER_KEY


def test_flag_beats_environment():
    env = {
        "GRADER_BACKEND": "llm",
        "GRADER_MODEL": "env-model",
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": "http://env/v1",
    }
    s = resolve_settings(backend="offline", model="flag-model", base_url="http://flag/v1", env=env)
    assert (s.backend, s.model, s.base_url) == ("offline", "flag-model", "http://flag/v1")
    assert s.source("model") == "--model" and s.source("base_url") == "--base-url"


def test_environment_beats_default():
    s = resolve_settings(env={"GRADER_BACKEND": "offline", "OPENAI_API_KEY": "k", "GRADER_MODEL": "m"})
    assert s.backend == "offline" and s.model == "m" and s.source("backend") == "GRADER_BACKEND"


def test_llm_without_key_or_url_is_a_config_error():
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        resolve_settings(backend="llm", env={})
    assert info.value.exit_code == 2


def test_unknown_backend():
    with pytest.raises(ConfigError, match="unknown backend 'gpt' \\(from GRADER_BACKEND\\)"):
        resolve_settings(env={"GRADER_BACKEND": "gpt"})


def test_key_is_masked():
    assert resolve_settings(env={"OPENAI_API_KEY": "sk-proj-abcdefghijklmnop1234"}).masked_key == (
        "sk-...1234"
    )
