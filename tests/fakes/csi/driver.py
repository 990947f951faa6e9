"""The Secrets Store CSI driver's Azure provider, as far as a mount goes, for the offline end-to-end test.

In workload-identity mode the provider takes the pod's ServiceAccount token (which the kubelet requested for the
audience api://AzureADTokenExchange), exchanges it at Entra ID for the identity the SecretProviderClass names in
`clientID` (in its `tenantID`), reads each object from `keyvaultName` and writes it, as stored, to a file named
after it (secrets-store-csi-driver-provider-azure: pkg/provider/provider.go, pkg/auth/auth.go). This does the same
with azure-identity and azure-keyvault-secrets, against the fakes, and prints only what failed, never a value.

Env: CLIENT_ID, TENANT_ID, KEYVAULT_NAME, OBJECT_NAMES and OBJECT_TYPES (comma-separated), USE_POD_IDENTITY,
POD_TOKEN_FILE, AUTHORITY_HOST, MOUNT_DIR.
Exit 0: mounted. Exit 1: the mount fails (the kubelet would retry it, and the pod would never start).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient


def main() -> int:
    logging.getLogger("azure").addHandler(logging.NullHandler())
    logging.getLogger("azure").propagate = False
    env = os.environ
    credential = WorkloadIdentityCredential(
        tenant_id=env["TENANT_ID"],
        client_id=env["CLIENT_ID"],
        token_file_path=env["POD_TOKEN_FILE"],
        authority=env["AUTHORITY_HOST"],
        retry_total=0,
    )
    client = SecretClient(f"https://{env['KEYVAULT_NAME']}.vault.azure.net/", credential, retry_total=0)
    mount = Path(env["MOUNT_DIR"])
    if env["USE_POD_IDENTITY"] == "true":
        # The retired AAD Pod Identity mode: a token from IMDS through NMI, which this cluster does not run.
        print("csi mount failed: usePodIdentity is true and no NMI answers on this node", file=sys.stderr)
        return 1
    if set(env["OBJECT_TYPES"].split(",")) != {"secret"}:
        print(f"csi mount failed: objectType {env['OBJECT_TYPES']!r} is not secret", file=sys.stderr)
        return 1
    try:
        for name in env["OBJECT_NAMES"].split(","):
            value = client.get_secret(name).value or ""
            (mount / name).write_bytes(value.encode("utf-8"))
    except Exception as exc:  # the mount fails whatever the cause; say which kind, never the response text
        status = getattr(exc, "status_code", None)
        error = getattr(exc, "error", None)
        aadsts = re.search(r"AADSTS[0-9]+", str(exc))
        parts = [type(exc).__name__, f"HTTP {status}" if status else "", getattr(error, "code", None) or ""]
        print(
            "csi mount failed: " + " ".join(p for p in [*parts, aadsts.group(0) if aadsts else ""] if p),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
