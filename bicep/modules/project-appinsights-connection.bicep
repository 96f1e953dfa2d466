// The Foundry project's Application Insights connection: the portal's Tracing page and the SDK's
// telemetry.get_application_insights_connection_string() find the component through it. Category
// 'AppInsights' with authType 'ApiKey' carrying the connection string, as Azure-Samples/get-started-with-ai-agents
// (infra/core/ai/cognitiveservices.bicep) and azd-ai-starter-basic do; the .NET SDK's
// AIProjectTelemetry.GetApplicationInsightsConnectionString "throws if the connection does not use API Key
// credentials". API 2025-12-01: the first stable version whose type data lists the 'AppInsights' category. The string is not a secret here: the component keeps local auth off, so ingestion still needs
// an Entra token.

@description('Name of the existing Foundry account.')
param accountName string

@description('Name of the existing Foundry project.')
param projectName string

@description('Resource id of the Application Insights component.')
param appInsightsId string

@description('Connection string of the Application Insights component.')
param connectionString string

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' existing = {
  parent: account
  name: projectName
}

resource connection 'Microsoft.CognitiveServices/accounts/projects/connections@2025-12-01' = {
  parent: project
  name: 'appinsights'
  properties: {
    category: 'AppInsights'
    target: appInsightsId
    authType: 'ApiKey'
    isSharedToAll: true
    credentials: {
      key: connectionString
    }
    metadata: {
      ApiType: 'Azure'
      ResourceId: appInsightsId
    }
  }
}

output name string = connection.name
