import { registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';

export const databaseConfig = registerAs('database', () => {
  const env = validateEnvironment(process.env);
  return { url: env.DATABASE_URL };
});
