"""An outside program: its cluster, vault and namespace exist already; it binds one workload to them."""

import pulumi
import pulumi_kubernetes as k8s
from workload_binding import WorkloadBinding

config = pulumi.Config()
cluster = k8s.Provider("apps-cluster", kubeconfig=config.require_secret("kubeconfig"))
binding = WorkloadBinding(
    "orders",
    {
        "resource_group_name": config.require("resourceGroupName"),
        "location": config.require("location"),
        "identity_name": "id-orders",
        "oidc_issuer_url": config.require("oidcIssuerUrl"),
        "namespace": "orders",
        "service_account_name": "orders-api",
        "key_vault_id": config.require("keyVaultId"),
        "secret_names": ["orders-db-password", "orders-api-key"],
        # Optional: the secrets as files, and a Job per secret that proves the read (this repository's app/ image).
        "secret_provider_class": config.get_bool("secretProviderClass") or False,
        **({"verification_image": image} if (image := config.get("verificationImage")) else {}),
        # A number from config is a float, as one from another language arrives through the schema.
        **({"verification_retry_budget_seconds": budget} if (budget := config.get_float("retryBudget")) else {}),
    },
    opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)
pulumi.export("clientId", binding.client_id)
pulumi.export("subject", binding.subject)
pulumi.export("roleAssignmentIds", binding.role_assignment_ids)
