// Azure Storage for the standard agent setup's files (uploads, vector store sources), keyless: shared-key access
// off, so the project identity reaches blobs only through its data roles; no anonymous blob access, HTTPS and
// TLS 1.2 only. API 2025-06-01: the version in the shared Bicep type data.

@minLength(3)
@maxLength(24)
@description('Account name (3-24 lowercase letters and digits, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  // checkov:skip=CKV_AZURE_35: the public posture keeps the endpoint reachable from the Foundry Agent Service (default action Allow); every call needs an Entra token and a data role (shared keys are off)
  // checkov:skip=CKV_AZURE_59: same reason: public network access stays on; private endpoints come with a private network posture
  // checkov:skip=CKV_AZURE_206: locally redundant storage for a starter; choose a geo-redundant SKU for production
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Entra ID only: account keys and SAS signed with them are refused
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
