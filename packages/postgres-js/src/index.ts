export { createSql } from './sql.js';
export type { RetryingSql, RetryingSqlOptions } from './types.js';
