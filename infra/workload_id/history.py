"""What this stack's last `up` left behind, read back at the start of the next.

A secret the stack stops declaring stays in its vault (`retainOnDelete`: deleting it would need the
vault's data plane), so its name is taken if it ever comes back, and azure-native refuses to create what
exists ("cannot create already existing resource"). The stack therefore exports the names it left behind
(`retiredSecretNames`) and adopts such a secret (`import`) when a name returns.

The last outputs come from the engine's builtin invoke `pulumi:pulumi:readStackOutputs`, which reads the
stack's last checkpoint from the backend, in a preview too (pulumi/pulumi pkg/resource/deploy/builtins.go,
readStackReference); only the three plain outputs named below are used. Its name is
`<organization>/<project>/<stack>`; a file backend still in the legacy layout (no projects) knows the
stack by its bare name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pulumi

READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
RETIRED_SECRETS = "retiredSecretNames"


def last_outputs() -> Mapping[str, Any]:
    """The outputs of this stack's last update (empty before the first)."""
    stack = pulumi.get_stack()
    qualified = f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}"
    try:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": qualified})
    except Exception:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": stack})
    return dict((result.value or {}).get("outputs") or {})


@dataclass(frozen=True)
class SecretHistory:
    """The vault the last `up` wrote to, the secret names it declared, and those it had left behind."""

    vault_name: str
    declared: frozenset[str]
    retired: frozenset[str]

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> SecretHistory:
        vault_uri = str(outputs.get("keyVaultUri") or "")
        return cls(
            vault_name=(urlparse(vault_uri).hostname or "").split(".")[0],
            declared=frozenset(outputs.get("secretNames") or ()),
            retired=frozenset(outputs.get(RETIRED_SECRETS) or ()),
        )

    def in_vault(self, vault_name_for: Callable[[str], str]) -> SecretHistory:
        """This history if this `up` keeps the same vault (`vault_name_for(suffix)` names it from its random
        suffix), else none: a new vault (another namePrefix) holds none of the old one's secrets."""
        suffix = self.vault_name.rsplit("-", 1)[-1]
        if self.vault_name and vault_name_for(suffix).lower() == self.vault_name:  # a hostname is lower case
            return self
        return SecretHistory(vault_name="", declared=frozenset(), retired=frozenset())

    def retired_after(self, declared: Iterable[str]) -> list[str]:
        """What stays in the vault undeclared once this `up` declares `declared`."""
        return sorted((self.retired | self.declared) - set(declared))

    def adoptions(self, declared: Iterable[str], subscription_id: str, resource_group: str) -> dict[str, str]:
        """name -> the ARM id to import, for each declared name the vault kept from an earlier `up`."""
        vault = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults"
        return {name: f"{vault}/{self.vault_name}/secrets/{name}" for name in declared if name in self.retired}


def identity_names(outputs: Mapping[str, Any]) -> dict[str, str]:
    """workload -> the Azure name the last `up` gave its identity (the output `workloads`; before it, the one
    workload `demo`, `workloadIdentityName`)."""
    named = {w: str(v["identityName"]) for w, v in (outputs.get("workloads") or {}).items() if v.get("identityName")}
    if not named and outputs.get("workloadIdentityName"):
        named = {"demo": str(outputs["workloadIdentityName"])}
    return named
