// Foundry starter infrastructure: Foundry resource, project, model deployments, app identity, keyless RBAC
// and (optionally) monitoring. Generated repos carry this file unchanged: every choice arrives through
// parameters (infra/main.parameters.json), so switching runtime or models is a parameter change.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; together with the resource group it seeds the stable resource token.')
param environmentName string

@description('Azure region for every resource.')
param location string = resourceGroup().location

@minLength(2)
@maxLength(40)
@description('Project name: names the Foundry project and prefixes the other resource names.')
param projectName string

@description('Model deployments: objects with name, model, version, format, sku, capacity, versionUpgrade.')
param modelDeployments array

@description('Name of the deployment the app calls (one of modelDeployments).')
param primaryModelDeployment string

@description('public: reachable from anywhere with an Entra token; ip-restricted: network ACL default Deny plus allowedIpRanges.')
@allowed([
  'public'
  'ip-restricted'
])
param networkPosture string = 'public'

@description('Public IPv4 addresses or CIDR ranges let in when networkPosture is ip-restricted.')
param allowedIpRanges array = []

@description('Create Log Analytics and Application Insights for the app.')
param enableMonitoring bool = true

@minValue(30)
@maxValue(730)
@description('Log Analytics retention in days.')
param logRetentionInDays int = 30

@description('Object id of the deploying user or CI principal; empty skips its role assignments.')
param principalId string = ''

@description('Kind of principal behind principalId: User locally, ServicePrincipal in CI.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Role keys (see modules/role-assignments.bicep) for the app identity on the Foundry resource.')
param appAccountRoles array = []

@description('Role keys for the app identity on the Foundry project.')
param appProjectRoles array = []

@description('Role keys for the deploying principal on the Foundry resource.')
param developerAccountRoles array = []

@description('Role keys for the deploying principal on the Foundry project.')
param developerProjectRoles array = []

@description('Role keys for the project managed identity on the Foundry resource.')
param projectIdentityAccountRoles array = []

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource name pattern before the uniqueness token; tokens: {abbr} (per resource type), {project}, {env}, {region}.')
param namingPattern string = '{abbr}{project}-'

@description('Abbreviations substituted for {abbr}: account, identity, logAnalytics, appInsights.')
param abbreviations object = {
  account: ''
  identity: 'id-'
  logAnalytics: 'log-'
  appInsights: 'appi-'
}

@description('Restore a soft-deleted Foundry resource of the same name (FlagMustBeSetForRestore); fails when none exists.')
param restoreSoftDeleted bool = false

var resourceToken = toLower(uniqueString(resourceGroup().id, environmentName))
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var namePrefix = replace(replace(replace(namingPattern, '{project}', projectName), '{env}', environmentName), '{region}', location)
// Every name ends with the whole 13-character resourceToken (the account name is a global DNS label): the
// prefix is shortened to fit each type's limit (account 64, workspace 63, identity 128, components 255).
var accountName = '${take(replace(namePrefix, '{abbr}', abbreviations.account), 51)}${resourceToken}'
var identityName = '${take(replace(namePrefix, '{abbr}', abbreviations.identity), 115)}${resourceToken}'
var logAnalyticsName = '${take(replace(namePrefix, '{abbr}', abbreviations.logAnalytics), 50)}${resourceToken}'
var appInsightsName = '${take(replace(namePrefix, '{abbr}', abbreviations.appInsights), 242)}${resourceToken}'

module account 'modules/foundry-account.bicep' = {
  name: 'foundry-account'
  params: {
    name: accountName
    location: location
    tags: allTags
    networkPosture: networkPosture
    allowedIpRanges: allowedIpRanges
    restoreSoftDeleted: restoreSoftDeleted
  }
}

module project 'modules/foundry-project.bicep' = {
  name: 'foundry-project'
  params: {
    accountName: account.outputs.name
    name: projectName
    location: location
    tags: allTags
  }
}

// Every write to the account is serialised: the project first, then the deployments one at a time
// (parallel writes fail with RequestConflict).
module deployments 'modules/model-deployments.bicep' = {
  name: 'model-deployments'
  params: {
    accountName: account.outputs.name
    deployments: modelDeployments
  }
  dependsOn: [
    project
  ]
}

module appIdentity 'modules/app-identity.bicep' = {
  name: 'app-identity'
  params: {
    name: identityName
    location: location
    tags: allTags
  }
}

module appRoles 'modules/role-assignments.bicep' = {
  name: 'app-role-assignments'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    principalId: appIdentity.outputs.principalId
    principalType: 'ServicePrincipal'
    accountRoles: appAccountRoles
    projectRoles: appProjectRoles
  }
}

module projectIdentityRoles 'modules/role-assignments.bicep' = {
  name: 'project-identity-role-assignments'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    principalId: project.outputs.principalId
    principalType: 'ServicePrincipal'
    accountRoles: projectIdentityAccountRoles
    projectRoles: []
  }
}

module developerRoles 'modules/role-assignments.bicep' = if (!empty(principalId)) {
  name: 'developer-role-assignments'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    principalId: principalId
    principalType: principalType
    accountRoles: developerAccountRoles
    projectRoles: developerProjectRoles
  }
}

module monitoring 'modules/monitoring.bicep' = if (enableMonitoring) {
  name: 'monitoring'
  params: {
    workspaceName: logAnalyticsName
    appInsightsName: appInsightsName
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
    appPrincipalId: appIdentity.outputs.principalId
  }
}

// Outputs are named as the environment variables the app reads; azd writes them to .azure/<env>/.env.
output AZURE_OPENAI_ENDPOINT string = account.outputs.openAiEndpoint
output AZURE_AI_PROJECT_ENDPOINT string = project.outputs.endpoint
output AZURE_AI_MODEL_DEPLOYMENT string = primaryModelDeployment
output AZURE_AI_MODEL_DEPLOYMENTS array = deployments.outputs.names
output AZURE_CLIENT_ID string = appIdentity.outputs.clientId
output AZURE_AI_ACCOUNT_NAME string = account.outputs.name
output AZURE_AI_PROJECT_NAME string = project.outputs.name
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = enableMonitoring ? monitoring.outputs.connectionString : ''
