"""Fixtures for the app tests: the reusable fakes from tests/fakes (needs the repo root on sys.path)."""

from tests.fakes.fixtures import demo, fake_azure, fake_azure_factory, fake_ca, fake_signing_keys

__all__ = ["demo", "fake_azure", "fake_azure_factory", "fake_ca", "fake_signing_keys"]
