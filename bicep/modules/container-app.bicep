// The app's container: runs as the existing user-assigned identity (AZURE_CLIENT_ID), HTTPS ingress, /healthz
// probes, settings from the deployment's outputs (a secret one as a Container Apps secret, read through
// secretRef). Until `azd deploy` pushes the first image it runs a public placeholder (as azd's own templates
// do), then `serviceImage` (azd's SERVICE_API_IMAGE_NAME) keeps it.
// Ingress and probes always target the app's port, placeholder or not: `azd deploy` only swaps the image
// (Azure/azure-dev cli/azd/pkg/containerapps/container_app.go, AddRevision) and keeps ingress and probes, so
// they must be right before the first deploy. The placeholder (listening on 80) stays unready until then, as
// in azd's own templates (Azure/azure-dev templates/common/infra/bicep/core/host/container-app-upsert.bicep
// passes the app's targetPort with the helloworld placeholder; Azure-Samples/get-started-with-ai-agents
// infra/api.bicep uses targetPort 50505).

@description('Container app name: lowercase letters, digits and hyphens, at most 32 characters.')
param name string

@description('Azure region.')
param location string

@description('Tags; azd-service-name tells azd which service deploys here.')
param tags object

@description('azd service name in azure.yaml.')
param serviceName string = 'api'

@description('Resource id of the Container Apps managed environment.')
param environmentId string

@description('Resource id of the user-assigned identity the app runs as (and pulls its image with).')
param identityId string

@description('Login server of the registry holding the image.')
param registryServer string

@description('Image to run; empty runs the placeholder until the first `azd deploy`.')
param serviceImage string = ''

@description('Port the app listens on inside the container.')
param targetPort int = 8000

@description('Environment variables: objects with name and value.')
param env array

@secure()
@description('Token the app sends to its MCP server: kept as the Container Apps secret mcp-auth-token and given to the app as APP_MCP_AUTH_TOKEN through secretRef (never a plain value, never an output); empty: no secret.')
param mcpAuthToken string = ''

@minValue(0)
@maxValue(30)
@description('Replicas kept running: 1, since the app keeps conversation state in a local file (APP_STATE_PATH).')
param minReplicas int = 1

@minValue(1)
@maxValue(30)
@description('Replica ceiling: 1 while state is a local file; raise it with a shared store.')
param maxReplicas int = 1

var placeholderImage = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'
var usePlaceholder = empty(serviceImage)
// `azd deploy` keeps it: ARM returns no secret values, so azd lists them and sends them back with the new revision
// (Azure/azure-dev cli/azd/pkg/containerapps/container_app.go, syncSecrets / ListSecrets).
var mcpSecretName = 'mcp-auth-token'
var secrets = empty(mcpAuthToken) ? [] : [
  {
    name: mcpSecretName
    value: mcpAuthToken
  }
]
var secretEnv = empty(mcpAuthToken) ? [] : [
  {
    name: 'APP_MCP_AUTH_TOKEN'
    secretRef: mcpSecretName
  }
]
var healthProbe = {
  path: '/healthz'
  port: targetPort
  scheme: 'HTTP'
}

resource app 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: secrets
      ingress: {
        external: true
        // the app's port even while the placeholder runs (see the header)
        targetPort: targetPort
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: serviceName
          image: usePlaceholder ? placeholderImage : serviceImage
          env: concat(env, secretEnv)
          // half a core with the memory Consumption pairs with it (0.5 vCPU / 1Gi). Bicep has no fractional
          // literal and its type data types cpu as an integer (ARM's is a number), hence json('0.5').
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Liveness'
              httpGet: healthProbe
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: healthProbe
              initialDelaySeconds: 2
              periodSeconds: 10
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
output uri string = 'https://${app.properties.configuration.ingress.fqdn}'
