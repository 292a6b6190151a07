// This package's own `require`, in both builds (a .cts file compiles to CommonJS in the ES module
// build too): optional peers resolve from this package's folder, and load synchronously.
const peerRequire: NodeJS.Require = require;
export = peerRequire;
