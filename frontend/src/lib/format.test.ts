import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime } from './format';

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

describe('formatTime', () => {
  it('shows the seconds, which tell two short-lived tokens apart', () => {
    expect(formatTime('2025-11-27T07:34:05Z')).toMatch(/:05/);
  });

  it('returns text that is not a date as it is', () => {
    expect(formatTime('soon')).toBe('soon');
  });
});
