// The Foundry resource: a Cognitive Services account of kind AIServices with project management on,
// local (key) auth off, a custom subdomain for Entra ID tokens and a system-assigned identity.

@minLength(2)
@maxLength(64)
@description('Account name, also its custom subdomain (globally unique DNS label).')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('public or ip-restricted (network ACL default Deny plus allowedIpRanges).')
@allowed([
  'public'
  'ip-restricted'
])
param networkPosture string

@description('Public IPv4 addresses or CIDR ranges let in when ip-restricted.')
param allowedIpRanges array

@description('Restore a soft-deleted account of the same name.')
param restoreSoftDeleted bool

var ipRules = [for ip in allowedIpRanges: {
  value: ip
}]

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' = {
  // checkov:skip=CKV_AZURE_134: public network access stays on for the public and ip-restricted postures; ip-restricted denies by default through networkAcls, and private endpoints come with the private posture
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    allowProjectManagement: true
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: networkPosture == 'ip-restricted' ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
      ipRules: ipRules
      virtualNetworkRules: []
    }
    restore: restoreSoftDeleted
  }
}

output name string = account.name
output id string = account.id
// The bare resource endpoint (https://<name>.openai.azure.com/), as azure-ai-evaluation, LangChain and Semantic
// Kernel expect in AZURE_OPENAI_ENDPOINT; the v1 base URL is derived from it (main.bicep AZURE_OPENAI_BASE_URL).
output openAiEndpoint string = account.properties.endpoints['OpenAI Language Model Instance API']
output principalId string = account.identity.principalId
