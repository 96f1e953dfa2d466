// Standard agent setup, step 1 (before the capability host): the project identity's control-plane and account-wide
// roles on the thread and file stores, as Microsoft's standard setup template grants them before it creates the
// capability host (microsoft-foundry/foundry-samples infrastructure/infrastructure-setup-bicep/41-standard-agent-setup
// main.bicep: "The Comos DB Operator role must be assigned before the caphost is created"; modules-standard/
// cosmosdb-account-role-assignment.bicep and azure-storage-account-role-assignment.bicep). No owner roles.

@description('Name of the Cosmos DB account (thread storage).')
param cosmosDbName string

@description('Name of the storage account (file storage).')
param storageName string

@description('Object id of the Foundry project identity.')
param projectPrincipalId string

var roleIds = {
  // Cosmos DB Operator: manage the account's databases and containers (the service creates its own); no data, no keys
  cosmosDbOperator: '230815da-be43-4aae-9cb4-875f7bd000aa'
  // Storage Blob Data Contributor: read, write and delete blobs and containers of the account (the service creates its containers)
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' existing = {
  name: cosmosDbName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageName
}

resource cosmosOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(cosmos.id, projectPrincipalId, roleIds.cosmosDbOperator)
  scope: cosmos
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.cosmosDbOperator)
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource blobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, projectPrincipalId, roleIds.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
  }
}
