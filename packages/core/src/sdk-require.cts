// Core's own `require`, in both builds (a .cts file compiles to CommonJS in the ES module
// build too): the AWS SDK modules resolve from this package's folder and load synchronously, on first use (sdk.ts).
const peerRequire: NodeJS.Require = require;
export = peerRequire;
