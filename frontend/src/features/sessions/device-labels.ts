import { describeUserAgent } from './user-agent';

interface Labelled {
  id: string;
  userAgent: string;
  createdAt: string;
}

// From shortest to longest: the first that tells a group apart is used.
const formats = [
  new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }),
  new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' }),
  new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
  new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
];

/**
 * A name for each session that tells it apart from the others: "Firefox 128 on
 * Windows" when only one session has that device; else the device and when it
 * signed in, as briefly as tells them apart ("…, signed in 7:34 AM"), with a
 * number as the last resort. The names appear in headings, the confirmation
 * dialog and the status line, so they must be unique.
 */
export function deviceLabels(sessions: Labelled[]): Map<string, string> {
  const groups = new Map<string, Labelled[]>();
  for (const s of sessions) {
    const device = describeUserAgent(s.userAgent);
    groups.set(device, [...(groups.get(device) ?? []), s]);
  }
  const labels = new Map<string, string>();
  for (const [device, group] of groups) {
    if (group.length === 1) {
      labels.set(group[0]!.id, device);
      continue;
    }
    const times = (f: Intl.DateTimeFormat) => group.map((s) => f.format(new Date(s.createdAt)));
    const format = formats.find((f) => new Set(times(f)).size === group.length) ?? formats.at(-1)!;
    const shown = times(format);
    group.forEach((s, i) => {
      const twins = shown.filter((t) => t === shown[i]).length;
      const ordinal = twins > 1 ? ` (${shown.slice(0, i + 1).filter((t) => t === shown[i]).length})` : '';
      labels.set(s.id, `${device}, signed in ${shown[i]}${ordinal}`);
    });
  }
  return labels;
}
