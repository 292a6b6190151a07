import type { CredentialSource } from '@dbcreds/core';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpException,
  HttpStatus,
  Inject,
  Post,
  Query,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import { CREDENTIAL_SOURCE } from './credentials.module';
import { Note } from './note.entity';

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new BadRequestException(`${field} must be a string of 1-${max} characters`);
  }
  return value;
}

/** `GET /notes?limit=N` (newest first, N ≤ 100, default 20) and `POST /notes {author, body}` → 201 `{id}`. */
@Controller('notes')
export class NotesController {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  @Get()
  async list(@Query('limit') limit?: string): Promise<{ notes: Note[] }> {
    const take = Math.min(100, Math.max(1, Number(limit ?? 20) || 20));
    return { notes: await this.notes.find({ order: { id: 'DESC' }, take }) };
  }

  @Post()
  async create(@Body() body: Record<string, unknown>): Promise<{ id: number }> {
    const note = this.notes.create({ author: text(body?.author, 'author', 64), body: text(body?.body, 'body', 255) });
    return { id: (await this.notes.save(note)).id };
  }
}

/** `GET /health`: the database user serving requests and the secret version in use (never the password). */
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CREDENTIAL_SOURCE) private readonly source: CredentialSource,
  ) {}

  @Get()
  async health(): Promise<Record<string, unknown>> {
    try {
      const mysql = this.dataSource.options.type !== 'postgres';
      const rows = await this.dataSource.query(mysql ? 'SELECT CURRENT_USER() AS u' : 'SELECT current_user AS u');
      const s = this.source.stats();
      return {
        status: 'ok',
        library: 'nestjs',
        dbUser: rows[0].u,
        secret: { versionId: s.versionId, stage: s.stage, fetches: s.fetches },
      };
    } catch (err) {
      // the driver's error code only: its message is not echoed to HTTP clients
      const code = String((err as { code?: unknown })?.code ?? 'error');
      throw new HttpException({ status: 'error', library: 'nestjs', code }, HttpStatus.SERVICE_UNAVAILABLE);
    }
  }
}
