import { registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';

/** Own-form registrations: how long the creating client may connect without a session afterwards. */
export const registrationConfig = registerAs('registration', () => {
  const env = validateEnvironment(process.env);
  return {
    /** REGISTRATION_CONNECT_WINDOW_SECONDS: after the Private Key form returns; 0 turns the binding's connect rights off. */
    connectWindowSeconds: env.REGISTRATION_CONNECT_WINDOW_SECONDS,
  };
});
