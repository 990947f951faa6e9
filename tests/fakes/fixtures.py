"""Pytest fixtures for the fakes. Import them into a conftest.py (``from tests.fakes.fixtures import ...``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest
import trustme
from joserfc.jwk import RSAKey

from .azure import DemoWiring, FakeAzure


@functools.cache
def fake_material() -> tuple[trustme.CA, RSAKey, RSAKey]:
    """A throwaway CA (the app trusts it, and only it, through REQUESTS_CA_BUNDLE / SSL_CERT_FILE), the cluster
    OIDC issuer's key and Entra's token signing key: generated once per process, as key generation costs."""
    return trustme.CA(), RSAKey.generate_key(2048, auto_kid=True), RSAKey.generate_key(2048, auto_kid=True)


@pytest.fixture(scope="session")
def fake_ca() -> trustme.CA:
    return fake_material()[0]


@pytest.fixture(scope="session")
def fake_signing_keys() -> tuple[RSAKey, RSAKey]:
    """(cluster OIDC issuer key, Entra token signing key)."""
    return fake_material()[1:]


@pytest.fixture
def fake_azure_factory(
    tmp_path_factory: pytest.TempPathFactory, fake_ca: trustme.CA, fake_signing_keys: tuple[RSAKey, RSAKey]
) -> Iterator[Callable[..., FakeAzure]]:
    """Make running FakeAzures with declared identities, e.g. ``make(tenant_id=..., oidc_issuer_url=...)`` from a
    stack's outputs; all are checked for fake-server crashes and unexpected requests, then stopped, at teardown."""
    cluster_key, entra_key = fake_signing_keys
    made: list[FakeAzure] = []

    def make(*, tenant_id: str | None = None, oidc_issuer_url: str | None = None) -> FakeAzure:
        azure = FakeAzure(
            tmp_path_factory.mktemp("fake-azure"),
            fake_ca,
            tenant_id=tenant_id,
            oidc_issuer_url=oidc_issuer_url,
            cluster_key=cluster_key,
            entra_key=entra_key,
        )
        made.append(azure.__enter__())
        return azure

    try:
        yield make
        for azure in made:
            assert not azure.server_errors(), "a fake server crashed:\n" + "\n".join(azure.server_errors())
            assert not azure.entra.unexpected_requests, azure.entra.unexpected_requests
            assert not azure.keyvault.unexpected_requests, azure.keyvault.unexpected_requests
    finally:
        for azure in made:
            azure.__exit__(None, None, None)


@pytest.fixture
def fake_azure(fake_azure_factory: Callable[..., FakeAzure]) -> FakeAzure:
    """A running FakeAzure (Entra + Key Vault + cluster issuer + egress proxy on 127.0.0.1), stopped afterwards."""
    return fake_azure_factory()


@pytest.fixture
def demo(fake_azure: FakeAzure) -> DemoWiring:
    """The happy-path wiring, declared: break or delay one link in a test."""
    return fake_azure.demo()
