// Validates custom resources against the schemas of their upstream CRDs, as
// compiled by the kubernetes-models packages from the npm registry:
//   @kubernetes-models/prometheus-operator  ServiceMonitor, PrometheusRule
//   @kubernetes-models/keda                 ScaledObject
// (Installed by scripts/install-deploy-tools.sh under the deploy-tools cache.)
//
//   node validate_crs.mjs NODE_MODULES OBJECTS.json
//
// OBJECTS.json is a JSON array of {source, object}. Prints one line per
// object and exits 1 if any is invalid or of a kind with no schema here.
// Like the API server, these schemas check types, enums and required fields;
// unknown fields are pruned by the API server rather than refused, and so are
// not reported here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, objectsFile] = process.argv.slice(2);
const models = {
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js",
  "monitoring.coreos.com/v1/PrometheusRule":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule.js",
  "keda.sh/v1alpha1/ScaledObject": "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js",
};

let failed = 0;
for (const { source, object } of JSON.parse(readFileSync(objectsFile, "utf8"))) {
  const key = `${object.apiVersion}/${object.kind}`;
  const label = `${source}: ${object.kind}/${object.metadata?.name}`;
  if (!models[key]) {
    console.log(`FAIL ${label}: no schema for ${key}`);
    failed++;
    continue;
  }
  const module = await import(pathToFileURL(join(nodeModules, models[key])).href);
  const Model = module[object.kind];
  try {
    new Model(object).validate();
    console.log(`ok   ${label} (${key}, upstream CRD schema)`);
  } catch (error) {
    console.log(`FAIL ${label}: ${error.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
