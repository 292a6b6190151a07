#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addServiceStack } from '../src/app.js';
import { DeployParameterError } from '../src/params.js';

const app = new App();
try {
  addServiceStack(app);
} catch (err) {
  if (!(err instanceof DeployParameterError)) throw err;
  console.error(err.message);
  process.exit(1);
}
app.synth();
