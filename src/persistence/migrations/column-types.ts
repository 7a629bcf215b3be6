import type { QueryRunner } from 'typeorm';

/** Column types that differ between the two engines; everything else is spelled the same. */
export function columnTypes(queryRunner: QueryRunner) {
  const postgres = queryRunner.connection.options.type === 'postgres';
  return {
    timestamp: postgres ? 'timestamp' : 'datetime',
    json: 'text',
    bool: 'boolean',
  } as const;
}
