import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api';
import { endsSession } from '../features/session/session-ended';
import { shouldRetry } from './query-client';

describe('shouldRetry', () => {
  it.each([400, 401, 403, 404, 429])('never retries a %i', (status) => {
    expect(shouldRetry(0, new ApiError(status, 'unknown', 'x'))).toBe(false);
  });

  it('retries a 503 or a network error twice', () => {
    const outage = new ApiError(503, 'session_store_unavailable', 'x');
    expect(shouldRetry(0, outage)).toBe(true);
    expect(shouldRetry(1, new ApiError(0, 'network_error', 'x'))).toBe(true);
    expect(shouldRetry(2, outage)).toBe(false);
  });
});

describe('endsSession', () => {
  it("ends the session on the BFF's own 401", () => {
    expect(endsSession(new ApiError(401, 'unauthenticated', 'x'))).toBe(true);
  });

  it("leaves it alone on a remote API's 401 and on other errors", () => {
    // An upstream's own code (say invalid_token) reads as 'unknown'.
    expect(endsSession(new ApiError(401, 'unknown', 'x'))).toBe(false);
    expect(endsSession(new ApiError(403, 'csrf_failed', 'x'))).toBe(false);
  });
});
