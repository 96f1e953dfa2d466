// Least-privilege role assignments for one principal on the Foundry account and project. Roles are
// keyed by definition GUID (display names change: Azure AI User became Foundry User); assignment names
// are guid(scope, principal, role), so re-running the deployment is idempotent.

@description('Name of the existing Foundry account.')
param accountName string

@description('Name of the existing Foundry project.')
param projectName string

@description('Object id of the principal.')
param principalId string

@description('User, ServicePrincipal (managed identities, CI) or Group.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string

@description('Role keys granted on the account.')
param accountRoles array

@description('Role keys granted on the project.')
param projectRoles array

var roleIds = {
  // Foundry User (formerly Azure AI User): build and run agents, evaluations and model calls
  foundryUser: '53ca6127-db72-4b80-b1b0-d745d6d5456d'
  // Cognitive Services OpenAI User: call OpenAI-format deployments only
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  // Cognitive Services User: call every model on the account, partner (MaaS) models included
  cognitiveServicesUser: 'a97b65f3-24c7-4388-baec-2e87135dc908'
  // Reader: control-plane reads of the resource (the portal's pages), no data actions
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
}

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' existing = {
  parent: account
  name: projectName
}

resource accountAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in accountRoles: {
  name: guid(account.id, principalId, roleIds[role])
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: principalId
    principalType: principalType
  }
}]

resource projectAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in projectRoles: {
  name: guid(project.id, principalId, roleIds[role])
  scope: project
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
    principalId: principalId
    principalType: principalType
  }
}]
