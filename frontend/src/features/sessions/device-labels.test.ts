import { describe, expect, it } from 'vitest';
import { deviceLabels } from './device-labels';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36';
const iPhone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';

describe('deviceLabels', () => {
  it('keeps a device that appears once as it is', () => {
    const labels = deviceLabels([
      { id: 'a', userAgent: chrome, createdAt: '2025-11-27T07:34:00Z' },
      { id: 'b', userAgent: iPhone, createdAt: '2025-11-27T07:34:00Z' },
    ]);
    expect(labels.get('a')).toBe('Headless Chrome 156 on Linux');
    expect(labels.get('b')).toBe('Safari 17 on iOS 17');
  });

  it.each([
    ['different days', ['2025-11-26T07:34:00Z', '2025-11-27T07:34:00Z', '2025-11-28T09:00:00Z']],
    ['the same minute', ['2025-11-27T07:34:01Z', '2025-11-27T07:34:02Z', '2025-11-27T07:35:00Z']],
    ['the same second', ['2025-11-27T07:34:01.100Z', '2025-11-27T07:34:01.200Z', '2025-11-27T07:34:01.300Z']],
  ])('tells apart one device signed in on %s', (_, times) => {
    const sessions = times.map((createdAt, i) => ({ id: String(i), userAgent: chrome, createdAt }));
    const labels = [...deviceLabels(sessions).values()];
    expect(new Set(labels).size).toBe(sessions.length);
    for (const label of labels) expect(label).toMatch(/^Headless Chrome 156 on Linux, signed in /);
  });

  it('says no more than it needs to', () => {
    const labels = deviceLabels([
      { id: 'a', userAgent: chrome, createdAt: '2025-11-27T07:34:00Z' },
      { id: 'b', userAgent: chrome, createdAt: '2025-11-27T09:12:00Z' },
    ]);
    // Different times of one day: the time alone, no date, no seconds.
    for (const label of labels.values()) expect(label).toMatch(/, signed in \d{1,2}:\d{2}( [AP]M)?$/);
  });
});
