export { createSql } from './sql.js';
export type { RetryingSqlOptions } from './types.js';
