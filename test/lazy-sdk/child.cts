// CommonJS app: require('@dbcreds/pg'), a source over the backend the parent names, one read.
const { createPool } = require('@dbcreds/pg') as typeof import('@dbcreds/pg');
const { createCredentialSource } = require('@dbcreds/core') as typeof import('@dbcreds/core');
const options = JSON.parse(process.env.LAZY_SDK_SOURCE!);
const source = createCredentialSource(options);
const pool = createPool(source, { max: 1 });
source.get().then(
  async (c) => {
    console.log(JSON.stringify({ username: c.username }));
    await pool.end();
    source.close();
  },
  (err: Error) => {
    console.log(JSON.stringify({ error: err.name }));
    source.close();
  },
);
