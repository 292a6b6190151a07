import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/sequelize';
import type { NotesStore } from 'dbcreds/testing';
import { DataTypes, type InferAttributes, type InferCreationAttributes, Model, QueryTypes, Sequelize } from 'sequelize';

class Note extends Model<InferAttributes<Note>, InferCreationAttributes<Note, { omit: 'id' }>> {
  declare id: number;
  declare author: string;
  declare body: string;
}

/** The notes table through Sequelize; every new connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): NotesStore {
  const sequelize = new Sequelize(
    withRotatingCredentials(
      // host, port and database come from the secret unless given here
      { dialect: engine, pool: { min: 0, max: 10 }, logging: false },
      source,
    ),
  );
  Note.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      author: { type: DataTypes.STRING, allowNull: false },
      body: { type: DataTypes.STRING, allowNull: false },
    },
    { sequelize, tableName: 'notes', timestamps: false },
  );
  return {
    list: async (limit) =>
      (await Note.findAll({ attributes: ['id', 'author', 'body'], order: [['id', 'DESC']], limit })).map((n) =>
        n.get({ plain: true }),
      ),
    create: async (note) => ({ id: (await Note.create(note)).id }),
    async whoami() {
      const sql = engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
      const [row] = await sequelize.query<{ u: string }>(sql, { type: QueryTypes.SELECT });
      return row!.u;
    },
    close: () => sequelize.close(),
  };
}
