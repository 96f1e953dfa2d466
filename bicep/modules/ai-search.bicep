// An Azure AI Search service, keyless: API keys are off (disableLocalAuth), so every caller signs in with
// Entra ID and needs a role (modules/ai-search-roles.bicep). API 2025-05-01: the newest stable version in
// the shared Bicep type data; its SearchServiceProperties hold disableLocalAuth, and authOptions must stay
// unset with it (Microsoft.Search REST reference: "disableLocalAuth cannot be set to true if
// dataPlaneAuthOptions are defined").

@minLength(2)
@maxLength(60)
@description('Service name, also its DNS label (<name>.search.windows.net): lowercase letters, digits, hyphens.')
param name string

@description('Azure region.')
param location string

@description('Tags for the service.')
param tags object

@description('Pricing tier; basic is the smallest with role-based access, standard and up scale further (free has no SLA and one per subscription).')
@allowed([
  'basic'
  'standard'
  'standard2'
  'standard3'
  'storage_optimized_l1'
  'storage_optimized_l2'
])
param sku string = 'basic'

@minValue(1)
@maxValue(12)
@description('Replicas: 2 give a query SLA, 3 a query and indexing SLA.')
param replicaCount int = 1

@description('public or ip-restricted (only allowedIpRanges and trusted Azure services get in).')
@allowed([
  'public'
  'ip-restricted'
])
param networkPosture string = 'public'

@description('Public IPv4 addresses or CIDR ranges let in when ip-restricted.')
param allowedIpRanges array = []

var ipRules = [for ip in allowedIpRanges: {
  value: ip
}]

resource search 'Microsoft.Search/searchServices@2025-05-01' = {
  // checkov:skip=CKV_AZURE_208: a starter runs one replica (cost); the indexing SLA needs 3, set replicaCount (parameter) for production
  // checkov:skip=CKV_AZURE_209: a starter runs one replica (cost); the query SLA needs 2, set replicaCount (parameter) for production
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    replicaCount: replicaCount
    partitionCount: 1
    hostingMode: 'Default'
    // Entra ID only: no admin or query keys are accepted
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkRuleSet: {
      ipRules: networkPosture == 'ip-restricted' ? ipRules : []
      bypass: networkPosture == 'ip-restricted' ? 'AzureServices' : 'None'
    }
  }
}

output id string = search.id
output name string = search.name
output endpoint string = 'https://${search.name}.search.windows.net'
