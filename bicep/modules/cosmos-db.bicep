// Azure Cosmos DB for NoSQL for the standard agent setup's thread storage (conversations, agent state), keyless:
// local (key) auth off, so the project identity reaches it only through the SQL data role granted after the
// capability host exists. Serverless: the setup's three containers need 1000 RU/s each and serverless supports
// that without provisioning throughput (learn.microsoft.com/azure/foundry/agents/concepts/standard-agent-setup,
// "Cosmos DB throughput requirements"). API 2025-10-15: the version in the shared Bicep type data.

@minLength(3)
@maxLength(44)
@description('Account name, also its DNS label (<name>.documents.azure.com): lowercase letters, digits, hyphens.')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' = {
  // checkov:skip=CKV_AZURE_99: the public posture keeps the endpoint reachable from the Foundry Agent Service; every call needs an Entra token and a data role (local auth is off)
  // checkov:skip=CKV_AZURE_101: same reason: public network access stays on; private endpoints come with a private network posture
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    // Entra ID only: no account keys, and no metadata writes (databases, containers) with keys either
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

output id string = cosmos.id
output name string = cosmos.name
output endpoint string = cosmos.properties.documentEndpoint
