// Foundry starter infrastructure: Foundry resource, project, model deployments, app identity, keyless RBAC
// and (optionally) monitoring. Generated repos carry this file unchanged: every choice arrives through
// parameters (infra/main.parameters.json), so switching runtime or models is a parameter change.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; together with the resource group it seeds the stable resource token.')
param environmentName string

// azd reads this metadata: its location prompt offers only regions with quota for the models. The generator
// lists each quota the deployments draw on, '<usage name>,<capacity>', when Azure's model list for the region was
// cached (`scaffolder models --live --refresh`); usage names are constants (github.com/Azure/azure-dev
// pkg/infra/provisioning/bicep/prompt.go; Learn "Work with Azure Developer CLI metadata for Bicep input parameters").
@metadata({
  azd: {
    type: 'location'
  }
})
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

@description('container-apps: the app runs on Azure Container Apps (azd deploy ships it); none: infra only.')
@allowed([
  'container-apps'
  'none'
])
param hosting string = 'container-apps'

@description('Image the container app runs; empty runs a placeholder until the first `azd deploy` (azd sets SERVICE_API_IMAGE_NAME).')
param apiImageName string = ''

@description('Tenant whose tokens the API accepts (azd: AZURE_TENANT_ID); empty: the API refuses every call until it is set.')
param apiAuthTenantId string = ''

@description('Audience (application ID URI or client id) of the Entra app registration callers get tokens for; empty: the API refuses every call until it is set.')
param apiAuthAudience string = ''

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

@description('Abbreviations substituted for {abbr}: account, identity, logAnalytics, appInsights (and optionally containerRegistry, containerAppsEnvironment, containerApp).')
param abbreviations object = {
  account: ''
  identity: 'id-'
  logAnalytics: 'log-'
  appInsights: 'appi-'
}

@description('basic: the Agent Service keeps conversations and files in Microsoft-managed storage; standard: in this deployment\'s own Cosmos DB, Storage and AI Search, through a project capability host.')
@allowed([
  'basic'
  'standard'
])
param agentSetup string = 'basic'

@description('Add Azure AI Search for the tools that need it: a new keyless service, or aiSearchResourceId\'s (then only its roles are granted).')
param aiSearch bool = false

@description('Resource id of an existing search service (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Search/searchServices/<name>) to use instead of creating one; empty creates one.')
param aiSearchResourceId string = ''

@description('Tier of the search service this deployment creates (basic: the smallest with role-based access).')
@allowed([
  'basic'
  'standard'
  'standard2'
  'standard3'
  'storage_optimized_l1'
  'storage_optimized_l2'
])
param aiSearchSku string = 'basic'

@description('Create the project connection (CognitiveSearch, keyless AAD) the agent\'s Azure AI Search tool uses, to the aiSearch service.')
param aiSearchConnection bool = false

@description('Other project connections the agent\'s tools use (modules/project-connections.bicep): objects with name, category, target and metadata; all keyless (AAD).')
param projectConnections array = []

@description('Role keys (see modules/ai-search-roles.bicep) for the app identity on the search service.')
param appSearchRoles array = []

@description('Role keys for the Foundry project identity on the search service.')
param projectSearchRoles array = []

@description('Role keys for the deploying principal on the search service.')
param developerSearchRoles array = []

@description('The chosen tools\' settings the app reads (objects with name and value); main.parameters.json binds each value to the azd environment value of the same name.')
param appToolSettings array = []

@description('Pass the search service\'s endpoint to the app as AZURE_AI_SEARCH_ENDPOINT (the app-side file search tool).')
param appSearchEndpoint bool = false

@secure()
@description('Token the app sends to its MCP server (azd: APP_MCP_AUTH_TOKEN); the container app keeps it as a secret read through secretRef; empty: none.')
param mcpAuthToken string = ''

@description('Restore a soft-deleted Foundry resource of the same name (FlagMustBeSetForRestore); fails when none exists.')
param restoreSoftDeleted bool = false

var resourceToken = toLower(uniqueString(resourceGroup().id, environmentName))
var hostingEnabled = hosting == 'container-apps'
var hostAbbreviations = union({
  containerRegistry: 'cr'
  containerAppsEnvironment: 'cae-'
  containerApp: 'ca-'
}, abbreviations)
var allTags = union(tags, {
  'azd-env-name': environmentName
})
var namePrefix = replace(replace(replace(namingPattern, '{project}', projectName), '{env}', environmentName), '{region}', location)
// Every name ends with the whole 13-character resourceToken (the account name is a global DNS label): the
// prefix is shortened to fit each type's limit (account 63 as a DNS label, workspace 63, identity 128,
// components 255, registry 50 alphanumerics, environment 60, container app 32), lowercased where the type
// demands it.
var accountName = toLower('${take(replace(namePrefix, '{abbr}', abbreviations.account), 50)}${resourceToken}')
var identityName = '${take(replace(namePrefix, '{abbr}', abbreviations.identity), 115)}${resourceToken}'
var logAnalyticsName = '${take(replace(namePrefix, '{abbr}', abbreviations.logAnalytics), 50)}${resourceToken}'
var appInsightsName = '${take(replace(namePrefix, '{abbr}', abbreviations.appInsights), 242)}${resourceToken}'
var registryName = toLower('${take(replace(replace(replace(replace(namePrefix, '{abbr}', hostAbbreviations.containerRegistry), '-', ''), '_', ''), '.', ''), 37)}${resourceToken}')
var containerEnvName = toLower('${take(replace(replace(namePrefix, '{abbr}', hostAbbreviations.containerAppsEnvironment), '_', '-'), 47)}${resourceToken}')
var containerAppName = toLower('${take(replace(replace(namePrefix, '{abbr}', hostAbbreviations.containerApp), '_', '-'), 19)}${resourceToken}')
// Data services' abbreviations: the standards may override them through `abbreviations`, like the hosting ones.
var dataAbbreviations = union({
  searchService: 'srch-'
  cosmosDb: 'cosmos-'
  storageAccount: 'st'
}, abbreviations)
var standardSetup = agentSetup == 'standard'
// Cosmos DB names are DNS labels (3-44 lowercase letters, digits, hyphens); storage names 3-24 lowercase alphanumerics.
var cosmosDbName = toLower('${take(replace(replace(replace(namePrefix, '{abbr}', dataAbbreviations.cosmosDb), '_', '-'), '.', '-'), 31)}${resourceToken}')
var storageName = toLower('${take(replace(replace(replace(replace(namePrefix, '{abbr}', dataAbbreviations.storageAccount), '-', ''), '_', ''), '.', ''), 11)}${resourceToken}')
// Search names are DNS labels (2-60 lowercase letters, digits and hyphens).
var searchName = toLower('${take(replace(replace(replace(namePrefix, '{abbr}', dataAbbreviations.searchService), '_', '-'), '.', '-'), 47)}${resourceToken}')
var searchCreate = aiSearch && empty(aiSearchResourceId)
// The service the roles go to: the one created here, or the existing one (which may live in another group).
var searchId = empty(aiSearchResourceId) ? resourceId('Microsoft.Search/searchServices', searchName) : aiSearchResourceId
var searchIdParts = split(searchId, '/')
var searchInThisGroup = toLower(searchIdParts[2]) == toLower(subscription().subscriptionId) && toLower(searchIdParts[4]) == toLower(resourceGroup().name)

module account 'modules/foundry-account.bicep' = {
  name: 'foundry-account-${resourceToken}'
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
  name: 'foundry-project-${resourceToken}'
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
  name: 'model-deployments-${resourceToken}'
  params: {
    accountName: account.outputs.name
    deployments: modelDeployments
  }
  dependsOn: [
    project
  ]
}

module appIdentity 'modules/app-identity.bicep' = {
  name: 'app-identity-${resourceToken}'
  params: {
    name: identityName
    location: location
    tags: allTags
  }
}

module appRoles 'modules/role-assignments.bicep' = {
  name: 'app-role-assignments-${resourceToken}'
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
  name: 'project-identity-role-assignments-${resourceToken}'
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
  name: 'developer-role-assignments-${resourceToken}'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    principalId: principalId
    principalType: principalType
    accountRoles: developerAccountRoles
    projectRoles: developerProjectRoles
  }
}

module search 'modules/ai-search.bicep' = if (searchCreate) {
  name: 'ai-search-${resourceToken}'
  params: {
    name: searchName
    location: location
    tags: allTags
    sku: aiSearchSku
    networkPosture: networkPosture
    allowedIpRanges: allowedIpRanges
  }
}

module searchRoles 'modules/ai-search-roles.bicep' = if (aiSearch && searchInThisGroup) {
  name: 'ai-search-roles-${resourceToken}'
  params: {
    searchName: last(searchIdParts)
    appPrincipalId: appIdentity.outputs.principalId
    appRoles: appSearchRoles
    projectPrincipalId: project.outputs.principalId
    projectRoles: projectSearchRoles
    developerPrincipalId: principalId
    developerPrincipalType: principalType
    developerRoles: empty(principalId) ? [] : developerSearchRoles
  }
  dependsOn: [
    search
  ]
}

// An existing service in another resource group or subscription: the same grants, deployed to its group.
module searchRolesElsewhere 'modules/ai-search-roles.bicep' = if (aiSearch && !searchInThisGroup) {
  name: 'ai-search-roles-${resourceToken}'
  scope: resourceGroup(searchIdParts[2], searchIdParts[4])
  params: {
    searchName: last(searchIdParts)
    appPrincipalId: appIdentity.outputs.principalId
    appRoles: appSearchRoles
    projectPrincipalId: project.outputs.principalId
    projectRoles: projectSearchRoles
    developerPrincipalId: principalId
    developerPrincipalType: principalType
    developerRoles: empty(principalId) ? [] : developerSearchRoles
  }
}

module monitoring 'modules/monitoring.bicep' = if (enableMonitoring) {
  name: 'monitoring-${resourceToken}'
  params: {
    workspaceName: logAnalyticsName
    appInsightsName: appInsightsName
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
    appPrincipalId: appIdentity.outputs.principalId
    readerPrincipalId: principalId
    readerPrincipalType: principalType
  }
}

// The project's Application Insights connection: the Foundry portal's tracing reads the app's spans through it.
module appInsightsConnection 'modules/project-appinsights-connection.bicep' = if (enableMonitoring) {
  name: 'appinsights-connection-${resourceToken}'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    appInsightsId: enableMonitoring ? monitoring.outputs.appInsightsId : ''
    connectionString: enableMonitoring ? monitoring.outputs.connectionString : ''
  }
  dependsOn: [
    deployments
  ]
}

// Standard agent setup: the thread and file stores, the project identity's roles on them, then the capability host,
// then the data roles on what it created (the order of Microsoft's standard setup template, 41-standard-agent-setup).
module agentCosmosDb 'modules/cosmos-db.bicep' = if (standardSetup) {
  name: 'cosmos-db-${resourceToken}'
  params: {
    name: cosmosDbName
    location: location
    tags: allTags
  }
}

module agentStorage 'modules/storage-account.bicep' = if (standardSetup) {
  name: 'storage-${resourceToken}'
  params: {
    name: storageName
    location: location
    tags: allTags
  }
}

module agentSetupRoles 'modules/agent-setup-roles.bicep' = if (standardSetup) {
  name: 'agent-setup-roles-${resourceToken}'
  params: {
    cosmosDbName: cosmosDbName
    storageName: storageName
    projectPrincipalId: project.outputs.principalId
  }
  dependsOn: [
    agentCosmosDb
    agentStorage
  ]
}

module capabilityHost 'modules/agent-capability-host.bicep' = if (standardSetup) {
  name: 'agent-capability-host-${resourceToken}'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    cosmosDbId: standardSetup ? agentCosmosDb.outputs.id : ''
    cosmosDbEndpoint: standardSetup ? agentCosmosDb.outputs.endpoint : ''
    storageId: standardSetup ? agentStorage.outputs.id : ''
    storageBlobEndpoint: standardSetup ? agentStorage.outputs.blobEndpoint : ''
    searchId: searchId
    searchEndpoint: 'https://${last(searchIdParts)}.search.windows.net'
    location: location
  }
  // roles first (the template: the Cosmos DB Operator role "must be assigned before the caphost is created"), and
  // after every other write to the account and project (one write at a time: RequestConflict otherwise)
  dependsOn: [
    agentSetupRoles
    searchRoles
    searchRolesElsewhere
    deployments
    appInsightsConnection
    searchConnection
    toolConnections
  ]
}

module agentSetupDataRoles 'modules/agent-setup-data-roles.bicep' = if (standardSetup) {
  name: 'agent-setup-data-roles-${resourceToken}'
  params: {
    cosmosDbName: cosmosDbName
    storageName: storageName
    projectPrincipalId: project.outputs.principalId
  }
  dependsOn: [
    capabilityHost
  ]
}

// The agent tools' project connections, keyless (authType AAD): Azure AI Search (to the service above), SharePoint,
// Microsoft Fabric. After the other writes to the account (parallel writes fail with RequestConflict).
var searchConnections = aiSearchConnection ? [
  {
    name: 'ai-search'
    category: 'CognitiveSearch'
    target: 'https://${last(searchIdParts)}.search.windows.net'
    metadata: {
      ApiType: 'Azure'
      ResourceId: searchId
    }
  }
] : []

module searchConnection 'modules/project-connections.bicep' = if (aiSearchConnection) {
  name: 'search-connection-${resourceToken}'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    connections: searchConnections
  }
  dependsOn: [
    deployments
    appInsightsConnection
    search
  ]
}

module toolConnections 'modules/project-connections.bicep' = if (!empty(projectConnections)) {
  name: 'project-connections-${resourceToken}'
  params: {
    accountName: account.outputs.name
    projectName: project.outputs.name
    connections: projectConnections
  }
  dependsOn: [
    deployments
    appInsightsConnection
    searchConnection
  ]
}

module registry 'modules/container-registry.bicep' = if (hostingEnabled) {
  name: 'container-registry-${resourceToken}'
  params: {
    name: registryName
    location: location
    tags: allTags
    pullPrincipalId: appIdentity.outputs.principalId
  }
}

module containerEnvironment 'modules/container-apps-environment.bicep' = if (hostingEnabled) {
  name: 'container-apps-environment-${resourceToken}'
  params: {
    name: containerEnvName
    location: location
    tags: allTags
    logAnalyticsWorkspaceId: enableMonitoring ? monitoring.outputs.workspaceId : ''
  }
}

// Every setting the app reads, from this deployment's own values: the same names as the outputs below; then the
// chosen tools' settings (from the azd environment, and the search endpoint computed here). The MCP token is not
// among them: the container app module keeps it as a secret.
var baseAppSettings = [
  {
    name: 'AZURE_OPENAI_ENDPOINT'
    value: account.outputs.openAiEndpoint
  }
  {
    name: 'AZURE_AI_PROJECT_ENDPOINT'
    value: project.outputs.endpoint
  }
  {
    name: 'AZURE_AI_MODEL_DEPLOYMENT'
    value: primaryModelDeployment
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: appIdentity.outputs.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: enableMonitoring ? monitoring.outputs.connectionString : ''
  }
  {
    name: 'APP_AUTH_TENANT_ID'
    value: apiAuthTenantId
  }
  {
    name: 'APP_AUTH_AUDIENCE'
    value: apiAuthAudience
  }
]
var searchAppSettings = appSearchEndpoint ? [
  {
    name: 'AZURE_AI_SEARCH_ENDPOINT'
    value: 'https://${last(searchIdParts)}.search.windows.net'
  }
] : []
var appSettings = concat(baseAppSettings, searchAppSettings, appToolSettings)

module containerApp 'modules/container-app.bicep' = if (hostingEnabled) {
  name: 'container-app-${resourceToken}'
  params: {
    name: containerAppName
    location: location
    tags: allTags
    serviceName: 'api'
    environmentId: hostingEnabled ? containerEnvironment.outputs.id : ''
    identityId: appIdentity.outputs.id
    registryServer: hostingEnabled ? registry.outputs.loginServer : ''
    serviceImage: apiImageName
    env: appSettings
    mcpAuthToken: mcpAuthToken
  }
}

// Outputs are named as the environment variables the app reads; azd writes them to .azure/<env>/.env.
output AZURE_OPENAI_ENDPOINT string = account.outputs.openAiEndpoint
output AZURE_OPENAI_BASE_URL string = '${account.outputs.openAiEndpoint}openai/v1/'
output AZURE_AI_PROJECT_ENDPOINT string = project.outputs.endpoint
output AZURE_AI_MODEL_DEPLOYMENT string = primaryModelDeployment
output AZURE_AI_MODEL_DEPLOYMENTS array = deployments.outputs.names
output AZURE_CLIENT_ID string = appIdentity.outputs.clientId
output AZURE_AI_ACCOUNT_NAME string = account.outputs.name
output AZURE_AI_PROJECT_NAME string = project.outputs.name
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = enableMonitoring ? monitoring.outputs.connectionString : ''
output APP_AUTH_TENANT_ID string = apiAuthTenantId
output APP_AUTH_AUDIENCE string = apiAuthAudience
output AZURE_AI_SEARCH_ENDPOINT string = aiSearch ? 'https://${last(searchIdParts)}.search.windows.net' : ''
output AZURE_AI_SEARCH_ID string = aiSearch ? searchId : ''
output AZURE_AI_SEARCH_NAME string = aiSearch ? last(searchIdParts) : ''
// azd pushes images here (AZURE_CONTAINER_REGISTRY_ENDPOINT, github.com/Azure/azure-dev cli/azd/pkg/project/registry_name.go)
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = hostingEnabled ? registry.outputs.loginServer : ''
output SERVICE_API_NAME string = hostingEnabled ? containerApp.outputs.name : ''
output SERVICE_API_URI string = hostingEnabled ? containerApp.outputs.uri : ''
