// Log Analytics and workspace-based Application Insights for the app. Local (key) ingestion is off:
// the app sends telemetry with its managed identity, which gets Monitoring Metrics Publisher here.

@description('Log Analytics workspace name.')
param workspaceName string

@description('Application Insights component name.')
param appInsightsName string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object

@minValue(30)
@maxValue(730)
@description('Log retention in days.')
param retentionInDays int

@description('Object id of the app identity that sends telemetry.')
param appPrincipalId string

@description('Object id of the deploying principal, who may read the traces; empty skips the grant.')
param readerPrincipalId string = ''

@description('User, ServicePrincipal or Group: the kind of readerPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param readerPrincipalType string = 'User'

// Monitoring Metrics Publisher: send telemetry with an Entra token (no instrumentation-key ingestion)
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// Log Analytics Reader: query the traces (the Foundry portal's Tracing page reads them); no shared keys
// (learn.microsoft.com/azure/foundry/observability/concepts/trace-data: "Project members with the Log Analytics
// Reader role in AppInsights can view trace data")
var logAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Entra ID only: no shared-key ingestion or queries
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource traceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(readerPrincipalId)) {
  name: guid(appInsights.id, readerPrincipalId, logAnalyticsReader)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReader)
    principalId: readerPrincipalId
    principalType: readerPrincipalType
  }
}

// Not a credential: with DisableLocalAuth the instrumentation key inside cannot ingest on its own.
output connectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
output appInsightsId string = appInsights.id
