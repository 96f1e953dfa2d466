// Container Apps managed environment. Its logs go through Azure Monitor (a diagnostic setting into the Log
// Analytics workspace), not the 'log-analytics' destination, which needs the workspace's shared key while
// the workspace keeps local auth off.

@description('Environment name.')
param name string

@description('Azure region.')
param location string

@description('Tags for the environment.')
param tags object

@description('Resource id of the Log Analytics workspace that receives the logs; empty sends them nowhere.')
param logAnalyticsWorkspaceId string

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    zoneRedundant: false
  }
}

// diagnosticSettings has type data only as 2021-05-01-preview (no stable version is published with types)
resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'logs-to-workspace'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
