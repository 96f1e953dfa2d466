// Least-privilege roles on an Azure AI Search service (one this deployment made, or an existing one in this
// module's resource group), keyed by definition GUID; names guid(service, principal, role) keep re-runs
// idempotent. Which role each principal needs comes from the spec (infra.py), each with its reason in the README.

@description('Name of the existing search service.')
param searchName string

@description('Object id of the app identity.')
param appPrincipalId string = ''

@description('Role keys for the app identity.')
param appRoles array = []

@description('Object id of the Foundry project identity (the Agent Service calls Search as it).')
param projectPrincipalId string = ''

@description('Role keys for the project identity.')
param projectRoles array = []

@description('Object id of the deploying principal (main.bicep passes no roles when it is empty).')
param developerPrincipalId string = ''

@description('User, ServicePrincipal or Group: the kind of developerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param developerPrincipalType string = 'User'

@description('Role keys for the deploying principal.')
param developerRoles array = []

// learn.microsoft.com/azure/search/search-security-rbac (what each role allows) and
// learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning (GUIDs)
var roleIds = {
  // Search Index Data Reader: query indexes (read documents); no writes, no object definitions, no keys
  searchIndexDataReader: '1407120a-92aa-4202-b7e9-c0e197c71c8f'
  // Search Index Data Contributor: load, update and query documents; no object definitions, no keys
  searchIndexDataContributor: '8ebe5a00-799e-43f5-93ac-243d3dce84a7'
  // Search Service Contributor: create and manage indexes, indexers, data sources (object definitions), not their documents
  searchServiceContributor: '7ca78c08-252a-4471-8644-bb5ff32d4ba0'
}

resource search 'Microsoft.Search/searchServices@2025-05-01' existing = {
  name: searchName
}

resource appAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in appRoles: {
  name: guid(search.id, appPrincipalId, roleIds[role])
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource projectAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in projectRoles: {
  name: guid(search.id, projectPrincipalId, roleIds[role])
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource developerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in developerRoles: {
  name: guid(search.id, developerPrincipalId, roleIds[role])
  scope: search
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}]

output id string = search.id
output name string = search.name
output endpoint string = 'https://${search.name}.search.windows.net'
