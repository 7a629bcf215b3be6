import { registerAs } from '@nestjs/config';
import { splitList, validateEnvironment } from './environment.js';

/** The Dedicated Connection's agreement, as the ConnectionModule needs it. */
export const connectionConfig = registerAs('connection', () => {
  const env = validateEnvironment(process.env);
  return {
    /** The Data Sharing Agreement version configured at Mydex (MYDEX_CONNECTION_VERSION); newer than a member's → an update. */
    version: env.MYDEX_CONNECTION_VERSION,
    /** Days connection_events rows are kept (CONNECTION_EVENTS_RETENTION_DAYS); 0 keeps them for ever. */
    eventRetentionDays: env.CONNECTION_EVENTS_RETENTION_DAYS,
    /** CALLBACK_ALLOWED_IPS: where the callback is accepted from; empty accepts any address. */
    callbackAllowedIps: splitList(env.CALLBACK_ALLOWED_IPS),
  };
});
