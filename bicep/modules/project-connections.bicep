// Project connections the agent's tools use (Azure AI Search, SharePoint, Microsoft Fabric). Every one is keyless:
// authType 'AAD' stores no credential. The Agent Service reaches Azure AI Search with the project's managed identity
// (granted Search Index Data Reader on the service by ai-search-roles.bicep) and SharePoint and Fabric with the
// signed-in user's identity (On-Behalf-Of), so a connection never holds a key. A service that only takes a key
// (Grounding with Bing Search: authType 'ApiKey') has no connection here. Categories are values of
// ConnectionPropertiesV2.category in API 2025-12-01 ('CognitiveSearch', 'Sharepoint', 'MicrosoftFabric'); the
// CognitiveSearch shape (target endpoint, metadata ApiType/ResourceId) follows Microsoft's Foundry samples.

@description('Name of the existing Foundry account.')
param accountName string

@description('Name of the existing Foundry project.')
param projectName string

@description('Connections: objects with name, category, target and metadata (string values).')
param connections array

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' existing = {
  parent: account
  name: projectName
}

// One at a time: writes under one account conflict when run in parallel (RequestConflict).
@batchSize(1)
resource connection 'Microsoft.CognitiveServices/accounts/projects/connections@2025-12-01' = [for item in connections: {
  parent: project
  name: item.name
  properties: {
    category: item.category
    target: item.target
    authType: 'AAD'
    isSharedToAll: true
    metadata: item.metadata
  }
}]

output names array = [for (item, i) in connections: connection[i].name]
