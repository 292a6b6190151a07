import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The `notes` table (created by the local stack; see packages/cli/src/stack/admin.ts for the DDL). */
@Entity('notes')
export class Note {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  author!: string;

  @Column({ type: 'varchar', length: 255 })
  body!: string;
}
