// The catalog's entries, one file per library: a new library adds its file and its line here (nothing else).
export { drizzle } from './drizzle.js';
export { knex } from './knex.js';
export { kysely } from './kysely.js';
export { mikroOrm } from './mikro-orm.js';
export { mysql2 } from './mysql2.js';
export { pg } from './pg.js';
export { postgresJs } from './postgres-js.js';
export { prisma } from './prisma.js';
export { sequelize } from './sequelize.js';
export { typeorm } from './typeorm.js';
