// Model deployments on the Foundry account, strictly one at a time: the resource provider accepts one
// write per account, so parallel deployments fail with RequestConflict.

@description('Name of the existing Foundry account.')
param accountName string

@description('Deployments: objects with name, model, version, format, sku, capacity, versionUpgrade.')
param deployments array

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

@batchSize(1)
resource modelDeployment 'Microsoft.CognitiveServices/accounts/deployments@2025-09-01' = [for d in deployments: {
  parent: account
  name: d.name
  sku: {
    name: d.sku
    capacity: d.capacity
  }
  properties: {
    model: {
      format: d.format
      name: d.model
      version: d.version
    }
    versionUpgradeOption: d.versionUpgrade
    raiPolicyName: 'Microsoft.DefaultV2'
  }
}]

output names array = [for d in deployments: d.name]
