"""Built-in Azure role definitions used by the stack (GUIDs are the same in every tenant).

Source: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
"""

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
AKS_RBAC_WRITER = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
AKS_RBAC_ADMIN = "3498e952-d568-435e-9b2c-8d77e338d7f7"

NAMES = {
    ACR_PULL: "AcrPull",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    AKS_RBAC_WRITER: "Azure Kubernetes Service RBAC Writer",
    AKS_RBAC_ADMIN: "Azure Kubernetes Service RBAC Admin",
}


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    """The subscription-scoped ARM id that RoleAssignment.role_definition_id expects."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


# ARM refuses to change the role of an existing assignment (RoleAssignmentUpdateNotPermitted), and
# azure-native replaces one only when its principal or scope changes: a new role is a new assignment.
REPLACE_ON_ROLE_CHANGE = ["roleDefinitionId"]
