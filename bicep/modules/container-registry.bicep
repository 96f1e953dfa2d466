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

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  // checkov:skip=CKV_AZURE_139: a Basic registry cannot turn public access off (Premium only); pushes and pulls need Entra ID tokens (admin user off, no anonymous pull)
  // checkov:skip=CKV_AZURE_166: image quarantine needs the Premium SKU; images come only from azd's own remote build
  // checkov:skip=CKV_AZURE_163: image scanning is Microsoft Defender for Containers, enabled per subscription, not a registry property
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
