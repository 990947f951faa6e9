"""pulumi preview --policy-pack policy: the Workload ID wiring rules (mandatory) and hardening (advisory).

Enforcement per policy: pulumi preview --policy-pack policy --policy-pack-config <file.json>,
e.g. {"hardening-pod-security": "mandatory", "workload-identity-kubelet-pull": "advisory"}.
"""

from pulumi_policy import PolicyPack

from pack import policies

PolicyPack(name="workload-identity", policies=policies())
