import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { applyNagSuppressions } from './nag.js';
import { type DeployParams, PARAM_NAMES, type RawParams, resolveParams } from './params.js';
import { DbcredsServiceStack } from './stack.js';

/** The deploy parameters given as CDK context (`-c name=value` or cdk.json). */
export function paramsFromContext(app: App): RawParams {
  const raw: RawParams = {};
  for (const name of PARAM_NAMES) {
    const value: unknown = app.node.tryGetContext(name);
    if (value !== undefined) raw[name] = value;
  }
  return raw;
}

/** Default stack name: one per engine and strategy, so both scenarios can live side by side. */
export function stackNameFor(p: Pick<DeployParams, 'engine' | 'strategy'>): string {
  return `dbcreds-${p.engine === 'aurora-postgresql' ? 'pg' : 'mysql'}-${p.strategy}`;
}

/**
 * Adds the service stack for `params` (default: from the app's context) with the cdk-nag
 * AwsSolutions checks; a finding without a written suppression fails `cdk synth`.
 */
export function addServiceStack(app: App, params: DeployParams = resolveParams(paramsFromContext(app)), id?: string) {
  const stack = new DbcredsServiceStack(app, id ?? stackNameFor(params), params);
  applyNagSuppressions(stack);
  Validations.of(stack).addPlugins(new AwsSolutionsChecks(stack, { verbose: true }));
  return stack;
}
