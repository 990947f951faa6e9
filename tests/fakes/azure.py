"""FakeAzure: Entra ID + Key Vault + a cluster OIDC issuer behind a local egress proxy, and a runner for the app.

The app keeps its production wiring: it talks to ``https://login.microsoftonline.com`` and
``https://<vault>.vault.azure.net`` by name. Only the trust root (``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` = a local
trustme CA) and the egress path (``HTTPS_PROXY`` = a local CONNECT proxy that maps those names to the fakes on
127.0.0.1) differ. A network guard in the subprocess refuses any non-loopback DNS lookup or connection.

Everything is declared the way an infrastructure stack declares it (tenant, cluster OIDC issuer, managed identity
and its federated credentials, vault, secrets, role assignments), so a test can build it from a stack's resources.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from joserfc.jwk import RSAKey

from .entra import AUTHORITY_HOST, ENTRA_HOST, FakeEntra, ManagedIdentity
from .keyvault import SECRETS_USER, FakeKeyVault, FakeVault
from .oidc import FakeOidcIssuer, service_account_subject
from .servers import ConnectProxy, HTTPSAppServer

REPO_ROOT = Path(__file__).resolve().parents[2]
# The app runs as the image runs it: `python -m read_secret` in the directory holding the package.
APP_DIR = REPO_ROOT / "app"
APP_COMMAND = ("-m", "read_secret")
NETGUARD_DIR = Path(__file__).resolve().parent / "netguard"
# Newer webhook releases mount the token here (older ones: /var/run/secrets/azure/tokens/azure-identity-token).
WEBHOOK_TOKEN_SUBPATH = Path("var/run/secrets/azure/wi/token/azure-identity-token")
# A distinctive value: any appearance in app output is a leak.
DEMO_SECRET_NAME = "demo-secret"
DEMO_SECRET_VALUE = "s3cr3t-CANARY-7f1d0c-do-not-print"
FAST_RETRY_ENV = {"RETRY_INITIAL_DELAY_SECONDS": "0.05", "RETRY_MAX_DELAY_SECONDS": "0.2"}
# Any piece this long of a secret value or a bearer token in the output is a leak (a shorter value: all of it).
LEAK_FRAGMENT_CHARS = 20

# What must never be printed: the values, or a callable returning them, evaluated only AFTER the run, so that tokens
# issued while the app ran are included.
NeverPrinted = Iterable[str] | Callable[[], Iterable[str]]


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def stdout_lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def retry_lines(self) -> list[str]:
        return [line for line in self.stderr_lines if line.startswith("read_secret: retry: ")]


def run_app(
    env: Mapping[str, str],
    *,
    never_printed: NeverPrinted = (),
    timeout: float = 60,
    script: Path | None = None,
    fresh: bool = False,
) -> RunResult:
    """Run ``python -m read_secret`` in app/ (or another ``script``) with exactly ``env``; then assert that no piece
    of ``never_printed`` (a callable is evaluated after the run) shows in its output. The process is forked from
    the zygote (tests/fakes/zygote.py), or with `fresh` started as a new interpreter."""
    command, cwd = ([str(script)], script.parent) if script else (list(APP_COMMAND), APP_DIR)
    started = time.perf_counter()
    if fresh or env.get("PYTHONPATH") != str(NETGUARD_DIR):
        proc = subprocess.run(
            [sys.executable, *command],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(cwd),
            check=False,
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        kind, target = ("script", str(script)) if script else ("module", APP_COMMAND[1])
        code, stdout, stderr = ZYGOTE.run(kind, target, cwd, env, timeout)
    result = RunResult(code, stdout, stderr, time.perf_counter() - started)
    assert_nothing_leaked(result, never_printed)
    return result


class Zygote:
    """The client side of tests/fakes/zygote.py: started on first use, one per test process."""

    # What every run imports: the app, the Azure SDK it loads when a read starts, and what the CSI fake imports.
    PRELOAD = ("read_secret", "read_secret.cli", "azure.identity", "azure.keyvault.secrets")

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONPATH": str(NETGUARD_DIR)}
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("zygote.py")), str(APP_DIR), *self.PRELOAD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=str(APP_DIR),
            )
            assert self._read()["ready"]
        return self._process

    def _read(self) -> dict:
        assert self._process is not None
        assert self._process.stdout is not None
        return json.loads(self._process.stdout.readline())

    def run(self, kind: str, target: str, cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[int, str, str]:
        with self._lock, tempfile.TemporaryDirectory() as streams:
            out, err = Path(streams) / "stdout", Path(streams) / "stderr"
            process = self._start()
            assert process.stdin is not None
            request = {"kind": kind, "target": target, "cwd": str(cwd), "env": dict(env), "timeout": timeout}
            process.stdin.write(json.dumps(request | {"stdout": str(out), "stderr": str(err)}) + "\n")
            process.stdin.flush()
            answer = self._read()
            if answer.get("timed_out"):
                raise subprocess.TimeoutExpired([kind, target], timeout)
            return answer["code"], out.read_text(), err.read_text()


ZYGOTE = Zygote()


def leak_fragments(values: Iterable[str]) -> set[str]:
    """Every LEAK_FRAGMENT_CHARS-long piece of each value (a shorter value: the whole value). For a JWT that covers
    each dot-separated segment and any part of one: a printed header, payload or signature alone is a leak."""
    size = LEAK_FRAGMENT_CHARS
    fragments: set[str] = set()
    for value in values:
        if value:
            fragments.update(value[i : i + size] for i in range(max(1, len(value) - size + 1)))
    return fragments


def leaked_in(text: str, fragments: set[str]) -> str | None:
    """The first of ``fragments`` (from leak_fragments) found in ``text``, or None."""
    size = LEAK_FRAGMENT_CHARS
    found = (text[i : i + size] for i in range(len(text) - size + 1) if text[i : i + size] in fragments)
    return next(found, None) or next((f for f in fragments if len(f) < size and f in text), None)


def assert_nothing_leaked(result: RunResult, never_printed: NeverPrinted) -> None:
    fragments = leak_fragments(never_printed if isinstance(never_printed, Iterable) else never_printed())
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        leaked = leaked_in(text, fragments)
        if leaked is not None:  # the message names the stream and the size, not the value (it would reach CI logs)
            raise AssertionError(f"a secret or token appeared in {name} (a {len(leaked)}-character piece of one)")
    assert "Traceback" not in result.stderr, result.stderr


def base_env(home: Path) -> dict[str, str]:
    """What any process needs, nothing from the developer's environment (no stray proxies or Azure variables)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(NETGUARD_DIR),
    }


class FakeAzure:
    """A tenant, its Entra ID, the Key Vault service and one AKS cluster's OIDC issuer, all local.

    Use as a context manager (the pytest fixture ``fake_azure`` does). ``demo()`` declares the happy-path wiring;
    tests then break or delay one link.
    """

    def __init__(
        self,
        workdir: Path,
        ca: trustme.CA,
        *,
        tenant_id: str | None = None,
        cluster_key: RSAKey | None = None,
        entra_key: RSAKey | None = None,
        oidc_issuer_url: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.cluster = FakeOidcIssuer(
            oidc_issuer_url or f"https://westeurope.oic.prod-aks.azure.com/{self.tenant_id}/{uuid.uuid4()}/",
            cluster_key,
        )
        self.entra = FakeEntra(self.tenant_id, signing_key=entra_key)
        self.entra.trust_issuer(self.cluster)
        self.keyvault = FakeKeyVault(self.entra)
        self.ca_bundle = workdir / "fake-azure-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        self._entra_server = HTTPSAppServer(self.entra, _server_context(ca, ENTRA_HOST))
        self._vault_server = HTTPSAppServer(self.keyvault, _server_context(ca, "*.vault.azure.net"))
        self.proxy = ConnectProxy(self._resolve)

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeAzure:
        self._entra_server.start()
        self._vault_server.start()
        self.proxy.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # Side by side: each stop waits for its server's next poll.
        stopping = [
            threading.Thread(target=server.stop) for server in (self.proxy, self._vault_server, self._entra_server)
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    def server_errors(self) -> list[str]:
        return self._entra_server.errors + self._vault_server.errors + self.proxy.errors

    def _resolve(self, host: str, port: int) -> int | None:
        if port != 443:
            return None
        if host == ENTRA_HOST:
            return self._entra_server.port
        if self.keyvault.vault_for_host(host) is not None:
            return self._vault_server.port
        return None  # "does not resolve"

    # -- declarations --------------------------------------------------------------------------------------------

    def project_token(self, namespace: str, service_account: str, **kwargs: object) -> Path:
        """The kubelet's projected token at the path the webhook announces in AZURE_FEDERATED_TOKEN_FILE."""
        path = self.workdir / f"pod-{uuid.uuid4().hex[:8]}" / WEBHOOK_TOKEN_SUBPATH
        return self.cluster.project(path, namespace, service_account, **kwargs)

    def network_env(self) -> dict[str, str]:
        """The only differences from production: trust root and egress path."""
        return {
            "HTTPS_PROXY": self.proxy.url,
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "SSL_CERT_FILE": str(self.ca_bundle),
        }

    def webhook_env(self, client_id: str, token_file: Path) -> dict[str, str]:
        """What the workload identity webhook injects into a labelled pod."""
        return {
            "AZURE_CLIENT_ID": client_id,
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
            "AZURE_AUTHORITY_HOST": AUTHORITY_HOST,
        }

    def never_printed(self) -> list[str]:
        """Secret values and bearer credentials that must never appear in output."""
        return self.keyvault.secret_values() + self.entra.issued_tokens + self.cluster.issued

    def run(
        self, env: Mapping[str, str], *, timeout: float = 60, script: Path | None = None, fresh: bool = False
    ) -> RunResult:
        """Run the app (or ``script``) with ``env``; check its output against what was issued up to the run's END."""
        return run_app(env, never_printed=self.never_printed, timeout=timeout, script=script, fresh=fresh)

    def demo(
        self,
        *,
        namespace: str = "demo",
        service_account: str = "secret-reader",
        vault_name: str = "kv-wi-demo",
        secret_name: str = DEMO_SECRET_NAME,
        secret_value: str = DEMO_SECRET_VALUE,
    ) -> DemoWiring:
        """Declare the happy path: identity + FIC for the pod's ServiceAccount, vault + secret, Secrets User role."""
        identity = self.entra.add_identity("id-secret-reader")
        self.entra.add_federated_credential(
            identity.client_id,
            issuer=self.cluster.issuer_url,
            subject=service_account_subject(namespace, service_account),
        )
        vault = self.keyvault.add_vault(vault_name)
        version = vault.set_secret(secret_name, secret_value)
        vault.assign_role(identity.principal_id, SECRETS_USER)
        token_file = self.project_token(namespace, service_account)
        return DemoWiring(
            self, identity, vault, namespace, service_account, secret_name, secret_value, version, token_file
        )


@dataclass
class DemoWiring:
    azure: FakeAzure
    identity: ManagedIdentity
    vault: FakeVault
    namespace: str
    service_account: str
    secret_name: str
    secret_value: str
    version: str
    token_file: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The pod's full environment; ``NAME=None`` removes a variable."""
        env = {
            **base_env(self.azure.workdir),
            **self.azure.network_env(),
            **self.azure.webhook_env(self.identity.client_id, self.token_file),
            "VAULT_URL": self.vault.url,
            "SECRET_NAME": self.secret_name,
            "RETRY_BUDGET_SECONDS": "5",
            **FAST_RETRY_ENV,
            **self.extra_env,
        }
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(self, **overrides: str | None) -> RunResult:
        """The app with the demo's environment and `overrides`, forked from the zygote."""
        return self.azure.run(self.env(**overrides))

    def run_fresh(self, **overrides: str | None) -> RunResult:
        """The same, in a new interpreter."""
        return self.azure.run(self.env(**overrides), fresh=True)


def _server_context(ca: trustme.CA, hostname: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(context)
    return context
