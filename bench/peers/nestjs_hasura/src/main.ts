// Benchmark peer: Rasura's `user_role_changed` event handler written the NestJS way, with
// @golevelup/nestjs-hasura (its `/hasura/events` endpoint, its secret-header guard, its routing by
// trigger name) and node-postgres. The same work as Rasura's `once` handler: one transaction that
// sets the caller's Hasura session (`hasura.user`), records the delivery id in `rasura.processed_delivery` and, when it is new, inserts the change
// into `public.user_role_change`.
//
// Environment: PORT, DATABASE_URL, EVENT_SECRET (the `x-event-secret` header).
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HasuraEventHandler, HasuraModule, HasuraUpdateEvent } from '@golevelup/nestjs-hasura';
import { Pool } from 'pg';

interface User {
  user_id: string;
  role: string;
}

@Injectable()
export class UserEvents {
  constructor(private readonly pool: Pool) {}

  @HasuraEventHandler({ triggerName: 'user_role_changed' })
  async userRoleChanged(evt: HasuraUpdateEvent<User>): Promise<void> {
    const { old, new: row } = evt.event.data;
    if (old.role === row.role) {
      return;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // The caller's session for triggers and row-level security, as Hasura's own mutations
      // (and Rasura's transactions) set it.
      await client.query("SELECT set_config('hasura.user', $1, true)", [
        JSON.stringify(evt.event.session_variables),
      ]);
      const recorded = await client.query(
        'INSERT INTO rasura.processed_delivery (handler, id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        ['nestjs.user_role_changed', evt.id],
      );
      if (recorded.rowCount === 1) {
        await client.query(
          `INSERT INTO public.user_role_change
             (event_id, user_id, old_role, new_role, changed_by_role, changed_at)
           VALUES ($1::uuid, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
          [
            evt.id,
            row.user_id,
            old.role,
            row.role,
            evt.event.session_variables['x-hasura-role'] ?? null,
            evt.created_at,
          ],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}

@Module({
  imports: [
    HasuraModule.forRoot(HasuraModule, {
      webhookConfig: {
        secretFactory: () => process.env.EVENT_SECRET ?? '',
        secretHeader: 'x-event-secret',
      },
    }),
  ],
  providers: [
    UserEvents,
    {
      provide: Pool,
      useFactory: () => new Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
    },
  ],
})
export class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
}

void main();
