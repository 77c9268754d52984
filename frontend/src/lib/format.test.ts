import { describe, expect, it } from 'vitest';
import { formatDuration } from './format';

describe('formatDuration', () => {
  it.each([
    [1, '1 second'],
    [45, '45 seconds'],
    [60, '1 minute'],
    [30 * 60, '30 minutes'],
    [60 * 60, '1 hour'],
    [90 * 60, '1 hour 30 minutes'],
    [24 * 60 * 60, '24 hours'],
  ])('formatDuration(%d) = %s', (seconds, want) => {
    expect(formatDuration(seconds)).toBe(want);
  });
});
