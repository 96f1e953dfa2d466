// Standard agent setup, step 3 (after the capability host, which creates the containers): the project identity's
// scoped data roles, as Microsoft's standard setup template grants them once the capability host exists
// (microsoft-foundry/foundry-samples 41-standard-agent-setup main.bicep: storageContainersRoleAssignment and
// cosmosContainerRoleAssignments depend on addProjectCapabilityHost).
//
// - Storage Blob Data Owner, with the template's ABAC condition: the actions only Owner adds over the Contributor
//   grant of step 1 (blob tag reads/writes, tag filters) are allowed only on containers named '*-azureml-agent'
//   (the agent containers). The template also requires the container name to start with the project's workspace
//   id, read from the project's `properties.internalId`, which is absent from the API's type data; this storage
//   account is created for this one project, so the suffix alone names its agent containers.
// - Cosmos DB Built-in Data Contributor (Cosmos DB's own SQL role 00000000-0000-0000-0000-000000000002; data actions
//   on items and containers, no account management), scoped to the service's database `enterprise_memory`, not the
//   account: the service creates its containers there (thread-message-store, system-thread-message-store,
//   agent-entity-store, and newer ones on first use), so container scopes would miss the later ones
//   (earlier versions of the template scoped the role to the three containers, the latest to the whole account).

@description('Name of the Cosmos DB account (thread storage).')
param cosmosDbName string

@description('Name of the storage account (file storage).')
param storageName string

@description('Object id of the Foundry project identity.')
param projectPrincipalId string

// Storage Blob Data Owner: blob data access incl. tags and POSIX ACLs; tag actions only on the agent containers (condition)
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Cosmos DB Built-in Data Contributor (learn.microsoft.com/azure/cosmos-db/nosql/security/reference-data-plane-roles)
var cosmosDbBuiltInDataContributor = '00000000-0000-0000-0000-000000000002'
var agentContainersOnly = '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringLikeIgnoreCase \'*-azureml-agent\'))'

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' existing = {
  name: cosmosDbName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageName
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, projectPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
    conditionVersion: '2.0'
    condition: agentContainersOnly
  }
}

resource threadData 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2025-10-15' = {
  parent: cosmos
  name: guid(cosmos.id, projectPrincipalId, cosmosDbBuiltInDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDbBuiltInDataContributor}'
    principalId: projectPrincipalId
    scope: '${cosmos.id}/dbs/enterprise_memory'
  }
}
