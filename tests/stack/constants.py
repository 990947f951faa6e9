"""Resource type tokens and the built-in role GUIDs the tests check against (from Azure's docs,
written out here rather than imported so that a wrong constant in infra/ is caught)."""

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
CLUSTER = "azure-native:containerservice:ManagedCluster"
MANAGED_NAMESPACE = "azure-native:containerservice:ManagedNamespace"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DCR = "azure-native:monitor:DataCollectionRule"
DCR_ASSOCIATION = "azure-native:monitor:DataCollectionRuleAssociation"
RANDOM_STRING = "random:index/randomString:RandomString"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
COMMAND = "command:local:Command"
DOCKER_IMAGE = "docker-build:index:Image"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
JOB = "kubernetes:batch/v1:Job"
SDK_JOB, FILE_JOB = (
    "demo-demo-secret-job",
    "demo-demo-secret-file-job",
)  # resource names of the two delivery modes' Jobs
SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
TIME_ROTATING = "time:index/rotating:Rotating"
TIME_STATIC = "time:index/static:Static"

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
AKS_RBAC_WRITER = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
AKS_RBAC_ADMIN = "3498e952-d568-435e-9b2c-8d77e338d7f7"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
