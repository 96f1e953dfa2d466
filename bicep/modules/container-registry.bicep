// Azure Container Registry for the app's image: Entra ID only (admin user off, no anonymous pull); only the
// app identity may pull (AcrPull). azd builds the image remotely and pushes it with the deployer's own token.

@description('Registry name: 5-50 letters and digits.')
param name string

@description('Azure region.')
param location string

@description('Tags for the registry.')
param tags object

@description('Object id of the app identity that pulls the image.')
param pullPrincipalId string

// AcrPull: pull images, nothing else (github.com/Azure/azure-dev azure.ai.agents brownfield.arm.json acrPullRoleId;
// learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers#acrpull)
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

// checkov:skip=CKV_AZURE_139: a Basic registry cannot disable public access (Premium only); Entra ID auth gates it
// checkov:skip=CKV_AZURE_163: vulnerability scanning is Defender for Containers, a subscription-level plan
// checkov:skip=CKV_AZURE_164: content trust needs the Premium SKU; images come only from azd's own remote build
// checkov:skip=CKV_AZURE_165: geo-replication needs the Premium SKU; one region is enough for a starter
// checkov:skip=CKV_AZURE_166: quarantine needs the Premium SKU
// checkov:skip=CKV_AZURE_167: the untagged-manifest retention policy needs the Premium SKU
// checkov:skip=CKV_AZURE_233: zone redundancy needs the Premium SKU
// checkov:skip=CKV_AZURE_237: dedicated data endpoints need the Premium SKU
resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
