"""Fixtures for the app tests: the reusable fakes from tests/fakes (needs the repo root on sys.path), and the demo
wiring for an in-process call of main()."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes import DemoWiring, FakeAzure
from tests.fakes.fixtures import demo, fake_azure, fake_azure_factory, fake_ca, fake_signing_keys

__all__ = ["demo", "fake_azure", "fake_azure_factory", "fake_ca", "fake_signing_keys", "in_process"]


@pytest.fixture
def in_process(fake_azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoWiring]:
    """The demo wiring for a call of main() in this process: proxy and CA through os.environ, loopback only."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_azure.network_env().items():
        monkeypatch.setenv(name, value)
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host in ("127.0.0.1", "localhost"), f"in-process test tried to resolve {host}"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    azure_logger = logging.getLogger("azure")
    handlers, propagate = list(azure_logger.handlers), azure_logger.propagate
    # The SDK caches Key Vault challenges per host for the process: a fresh vault name per test.
    yield fake_azure.demo(vault_name=f"kv-{uuid.uuid4().hex[:12]}")
    azure_logger.handlers[:], azure_logger.propagate = handlers, propagate
