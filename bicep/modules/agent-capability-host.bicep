// Standard agent setup, step 2: the project's keyless (AAD) connections to its own Cosmos DB, Storage and AI Search,
// and the capability hosts that point the Agent Service at them, so conversations, files and vector stores stay in
// the customer's resources. As microsoft-foundry/foundry-samples 41-standard-agent-setup (modules-standard/
// ai-project-identity.bicep: categories CosmosDB (type data: CosmosDb), AzureStorageAccount, CognitiveSearch, authType AAD;
// add-project-capability-host.bicep: capabilityHostKind Agents with threadStorageConnections, storageConnections,
// vectorStoreConnections). Capability hosts are set at the account and the project scope (learn.microsoft.com/azure/
// foundry/agents/concepts/capability-hosts) and cannot be updated, only deleted and recreated.
// API 2025-12-01, as project-appinsights-connection.bicep (its type data lists all three categories).

@description('Name of the existing Foundry account.')
param accountName string

@description('Name of the existing Foundry project.')
param projectName string

@description('Resource id of the Cosmos DB account.')
param cosmosDbId string

@description('Document endpoint of the Cosmos DB account.')
param cosmosDbEndpoint string

@description('Resource id of the storage account.')
param storageId string

@description('Blob endpoint of the storage account.')
param storageBlobEndpoint string

@description('Resource id of the search service.')
param searchId string

@description('Endpoint of the search service.')
param searchEndpoint string

@description('Azure region of the data resources (connection metadata).')
param location string

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' existing = {
  parent: account
  name: projectName
}

resource threadStorage 'Microsoft.CognitiveServices/accounts/projects/connections@2025-12-01' = {
  parent: project
  name: 'agent-threads'
  properties: {
    // the type data's spelling; the template writes 'CosmosDB'
    category: 'CosmosDb'
    target: cosmosDbEndpoint
    authType: 'AAD'
    metadata: {
      ApiType: 'Azure'
      ResourceId: cosmosDbId
      location: location
    }
  }
}

resource fileStorage 'Microsoft.CognitiveServices/accounts/projects/connections@2025-12-01' = {
  parent: project
  name: 'agent-files'
  properties: {
    category: 'AzureStorageAccount'
    target: storageBlobEndpoint
    authType: 'AAD'
    metadata: {
      ApiType: 'Azure'
      ResourceId: storageId
      location: location
    }
  }
  dependsOn: [
    threadStorage
  ]
}

resource vectorStore 'Microsoft.CognitiveServices/accounts/projects/connections@2025-12-01' = {
  parent: project
  name: 'agent-vectors'
  properties: {
    category: 'CognitiveSearch'
    target: searchEndpoint
    authType: 'AAD'
    metadata: {
      ApiType: 'Azure'
      ResourceId: searchId
      location: location
    }
  }
  dependsOn: [
    fileStorage
  ]
}

resource accountHost 'Microsoft.CognitiveServices/accounts/capabilityHosts@2025-12-01' = {
  parent: account
  name: 'agents'
  properties: {
    capabilityHostKind: 'Agents'
  }
  dependsOn: [
    vectorStore
  ]
}

resource projectHost 'Microsoft.CognitiveServices/accounts/projects/capabilityHosts@2025-12-01' = {
  parent: project
  name: 'agents'
  // the project-level type (ProjectCapabilityHostProperties) has no capabilityHostKind: the account host sets it
  properties: {
    threadStorageConnections: [
      threadStorage.name
    ]
    storageConnections: [
      fileStorage.name
    ]
    vectorStoreConnections: [
      vectorStore.name
    ]
  }
  dependsOn: [
    accountHost
  ]
}

output name string = projectHost.name
