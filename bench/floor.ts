/**
 * The floor: a bare Nest app on Fastify with only the validation routes (the BFF's own
 * ValidationController, so the same handler code and the same answers) and a liveness route. No
 * global pipe, filter, guards, interceptors, hooks, plugins or logging. What the BFF costs above this
 * is ours (the shared pipeline); what this costs above bench/baseline.ts is Nest's router.
 *   PORT=4200 node dist/bench/floor.js    prints {"listening":4200} once ready
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { pathToFileURL } from 'node:url';
import { ValidationModule } from '../src/validation/validation.module.js';

@Controller('health')
class LiveController {
  @Get('live')
  live(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({ imports: [ValidationModule], controllers: [LiveController] })
class FloorModule {}

export async function createFloor(): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter({ bodyLimit: 16 * 1024 }), {
    logger: false,
  });
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await createFloor();
  const port = Number(process.env.PORT ?? 4200);
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
