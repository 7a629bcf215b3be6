import { describe, expect, it } from 'vitest';
import { chooseLogFormat, prettyMessage } from './log-output.js';

describe('log format', () => {
  it('is pretty only in development with stdout on a terminal, unless LOG_FORMAT says otherwise', () => {
    expect(chooseLogFormat({ NODE_ENV: 'development' }, true)).toBe('pretty');
    expect(chooseLogFormat({ NODE_ENV: 'development' }, false)).toBe('json');
    expect(chooseLogFormat({ NODE_ENV: 'production' }, true)).toBe('json');
    expect(chooseLogFormat({ NODE_ENV: 'test' }, true)).toBe('json');
    expect(chooseLogFormat({ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(chooseLogFormat({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('pretty: a request line reads as method, URL, status and time; other lines as [context] message', () => {
    const request = {
      msg: 'request completed',
      requestId: 'r1',
      req: { method: 'GET', url: '/x?code=[redacted]' },
      res: { statusCode: 404 },
      responseTime: 1.2,
    };
    expect(prettyMessage(request, 'msg')).toBe('GET /x?code=[redacted] → 404 in 1.2 ms');
    expect(prettyMessage({ msg: 'Nest application successfully started', context: 'NestApplication' }, 'msg')).toBe(
      '[NestApplication] Nest application successfully started',
    );
    expect(prettyMessage({ msg: 'plain' }, 'msg')).toBe('plain');
  });
});
