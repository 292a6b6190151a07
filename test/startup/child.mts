// An ES module app: top-level await on the first call. Argv: entry name, database host, port.
import { describeRejection, entry } from './entries.ts';

const [name = '', host = '', port = ''] = process.argv.slice(2);
const e = await entry(name, { host, port: Number(port) });
try {
  await e.run();
  console.log(JSON.stringify({ settled: 'fulfilled' }));
} catch (err) {
  console.log(JSON.stringify({ settled: 'rejected', chain: describeRejection(err) }));
  process.exitCode = 3;
} finally {
  await e.close().catch(() => undefined);
}
