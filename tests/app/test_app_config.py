"""Settings validation: a bad setting is one line naming the variable, exit 2 at once, no traceback, no network."""

from __future__ import annotations

import pytest

from app import read_secret as app
from tests.fakes import DemoWiring

BAD_SETTINGS = [
    ("VAULT_URL", None),
    ("VAULT_URL", ""),
    ("VAULT_URL", "http://kv-wi-demo.vault.azure.net/"),
    ("VAULT_URL", "https://kv-wi-demo.example.com/"),
    ("VAULT_URL", "https://kv-wi-demo.vault.azure.net/secrets/demo-secret"),
    ("VAULT_URL", "https://kv-wi-demo.vault.azure.net:8443/"),
    ("VAULT_URL", "https://user@kv-wi-demo.vault.azure.net/"),
    ("VAULT_URL", "https://kv-wi-demo.vault.azure.net/?x=1"),
    ("VAULT_URL", "kv-wi-demo.vault.azure.net"),
    ("VAULT_URL", "https://kv--demo.vault.azure.net/"),
    ("VAULT_URL", "kv"),
    ("VAULT_URL", "1kv-demo"),
    ("VAULT_URL", "kv-demo-"),
    ("VAULT_URL", "kv_demo"),
    ("VAULT_URL", "k" * 25),
    ("VAULT_URL", "https://[::1/"),
    ("SECRET_NAME", None),
    ("SECRET_NAME", "demo_secret"),
    ("SECRET_NAME", "demo secret"),
    ("SECRET_NAME", "s" * 128),
    ("EXPECTED_SECRET_FINGERPRINT", "abc"),
    ("EXPECTED_SECRET_FINGERPRINT", "0123456789abc"),
    ("EXPECTED_SECRET_FINGERPRINT", "0123456789ag"),
    ("RETRY_BUDGET_SECONDS", "-1"),
    ("RETRY_BUDGET_SECONDS", "five"),
    ("RETRY_BUDGET_SECONDS", "nan"),
    ("RETRY_BUDGET_SECONDS", "inf"),
    ("RETRY_INITIAL_DELAY_SECONDS", "0"),
    ("RETRY_MAX_DELAY_SECONDS", "-2"),
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_bad_setting_exits_2_at_once_naming_the_variable(demo: DemoWiring, name: str, value: str | None) -> None:
    result = demo.run(**{name: value})

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr_lines) == 1, result.stderr
    assert result.stderr.startswith(f"read_secret: FAILED (exit 2, configuration): {name} ")
    assert demo.azure.proxy.connects == []  # nothing was attempted, so nothing was retried


def test_bad_setting_wins_over_missing_workload_identity(demo: DemoWiring) -> None:
    result = demo.run(SECRET_NAME="bad_name", AZURE_CLIENT_ID=None, AZURE_FEDERATED_TOKEN_FILE=None)

    assert result.returncode == 2
    assert "SECRET_NAME" in result.stderr


# -- the same rules in-process --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("kv-wi-demo", "https://kv-wi-demo.vault.azure.net/"),
        ("KV-Wi-Demo", "https://kv-wi-demo.vault.azure.net/"),
        ("abc", "https://abc.vault.azure.net/"),
        ("a" + "b" * 22 + "c", "https://a" + "b" * 22 + "c.vault.azure.net/"),
        ("https://kv-wi-demo.vault.azure.net", "https://kv-wi-demo.vault.azure.net/"),
        ("https://kv-wi-demo.vault.azure.net/", "https://kv-wi-demo.vault.azure.net/"),
        ("HTTPS://KV-WI-DEMO.VAULT.AZURE.NET:443/", "https://kv-wi-demo.vault.azure.net/"),
        ("https://kv-wi-demo.vault.azure.cn/", "https://kv-wi-demo.vault.azure.cn/"),
        ("https://kv-wi-demo.vault.usgovcloudapi.net/", "https://kv-wi-demo.vault.usgovcloudapi.net/"),
    ],
)
def test_vault_url_forms(raw: str, url: str) -> None:
    assert app.parse_vault_url(raw) == url


@pytest.mark.parametrize("raw", [value for name, value in BAD_SETTINGS if name == "VAULT_URL"])
def test_bad_vault_urls_are_rejected(raw: str | None) -> None:
    with pytest.raises(app.ConfigError, match=r"^VAULT_URL "):
        app.parse_vault_url(raw or "")


def test_defaults() -> None:
    settings = app.parse_settings({"VAULT_URL": "kv-wi-demo", "SECRET_NAME": "demo-secret"})

    assert settings.budget == 300
    assert settings.initial_delay == app.DEFAULT_RETRY_INITIAL_DELAY_SECONDS
    assert settings.max_delay == app.DEFAULT_RETRY_MAX_DELAY_SECONDS
    assert settings.expected_fingerprint is None


def test_settings_are_trimmed_and_fingerprint_lowercased() -> None:
    settings = app.parse_settings(
        {
            "VAULT_URL": " kv-wi-demo\n",
            "SECRET_NAME": "demo-secret\n",
            "EXPECTED_SECRET_FINGERPRINT": "0123456789AB",
            "RETRY_BUDGET_SECONDS": "",
        }
    )

    assert settings.secret_name == "demo-secret"
    assert settings.expected_fingerprint == "0123456789ab"
    assert settings.budget == 300


def test_fingerprint_is_the_first_12_hex_chars_of_sha256_of_utf8() -> None:
    assert app.fingerprint("") == "e3b0c44298fc"
    assert app.fingerprint("abc") == "ba7816bf8f01"
    assert app.fingerprint("h\u00e9llo") == "3c48591d8d09"  # UTF-8, not Latin-1 ("c63c19ed1e0e")
    assert len(app.fingerprint("x" * 10_000)) == 12


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_full() -> None:
    settings = app.parse_settings(
        {
            "VAULT_URL": "kv-wi-demo",
            "SECRET_NAME": "s",
            "RETRY_INITIAL_DELAY_SECONDS": "2",
            "RETRY_MAX_DELAY_SECONDS": "30",
        }
    )

    full = [app.backoff_delay(n, settings, lambda: 1.0) for n in range(1, 8)]
    half = [app.backoff_delay(n, settings, lambda: 0.0) for n in range(1, 8)]

    assert full == [2, 4, 8, 16, 30, 30, 30]
    assert half == [1, 2, 4, 8, 15, 15, 15]
    assert app.backoff_delay(1000, settings, lambda: 1.0) == 30
