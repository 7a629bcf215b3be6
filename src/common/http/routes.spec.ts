import { describe, expect, it } from 'vitest';
import {
  BACKCHANNEL_LOGOUT,
  CONNECTION_CALLBACK,
  CONNECTION_RETURN,
  OIDC_CALLBACK,
  REGISTRATION_RETURN,
  registrationReturnPath,
} from './routes.js';

/** These paths are registered at Mydex or handed to browsers: a change here is a public URL change. */
describe('shared route paths', () => {
  it('keep their public paths', () => {
    expect(CONNECTION_CALLBACK.path).toBe('/v1/connections/callback');
    expect(CONNECTION_RETURN.path).toBe('/v1/connections/return');
    expect(OIDC_CALLBACK.path).toBe('/v1/auth/oidc/callback');
    expect(BACKCHANNEL_LOGOUT.path).toBe('/v1/auth/oidc/backchannel-logout');
    expect(REGISTRATION_RETURN.path).toBe('/v1/registrations/:id/return');
    expect(registrationReturnPath('0b6f1c9e-6a3e-4c55-9a57-0d7a3f4c2b11')).toBe(
      '/v1/registrations/0b6f1c9e-6a3e-4c55-9a57-0d7a3f4c2b11/return',
    );
  });
});
