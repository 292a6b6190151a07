// A CommonJS app: the first call's promise with then(ok, err) callbacks. Argv: entry name, database host, port.
const { describeRejection, entry } = require('./entries.ts') as typeof import('./entries.ts');

const [name = '', host = '', port = ''] = process.argv.slice(2);
entry(name, { host, port: Number(port) }).then((e) =>
  e.run().then(
    () => console.log(JSON.stringify({ settled: 'fulfilled' })),
    (err: unknown) => {
      console.log(JSON.stringify({ settled: 'rejected', chain: describeRejection(err) }));
      process.exitCode = 3;
      return e.close().catch(() => undefined);
    },
  ),
);
