import { registerAs } from '@nestjs/config';
import { validateEnvironment } from '../../config/environment.js';

export const challengeConfig = registerAs('registrationChallenge', () => {
  const env = validateEnvironment(process.env);
  return {
    provider: env.REGISTRATION_CHALLENGE,
    secret: env.REGISTRATION_CHALLENGE_SECRET,
    verifyUrl: env.REGISTRATION_CHALLENGE_VERIFY_URL,
  };
});
