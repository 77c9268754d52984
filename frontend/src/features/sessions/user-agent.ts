// A deliberately tiny user-agent parser: enough to tell a person "Chrome on
// macOS" about their own sessions, not a device database. Order matters: most
// browsers claim to be Safari and Chrome as well, so the specific ones go first.

export interface UserAgentInfo {
  browser: string;
  os: string;
}

const browsers: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\b(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bVivaldi\/(\d+)/, 'Vivaldi'],
  [/\bYaBrowser\/(\d+)/, 'Yandex Browser'],
  [/\bHeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)(?:[.\d]*)? (?:Mobile\/\w+ )?Safari\//, 'Safari'],
  [/\bcurl\/(\d+)/, 'curl'],
];

const systems: [RegExp, (match: RegExpMatchArray) => string][] = [
  [/\bWindows Phone\b/, () => 'Windows Phone'],
  [/\bWindows NT (\d+\.\d+)/, (m) => windowsName(m[1])],
  [/\b(?:iPhone|iPod)\b.*? OS (\d+)/, (m) => `iOS ${m[1]}`],
  [/\biPad\b.*? OS (\d+)/, (m) => `iPadOS ${m[1]}`],
  [/\bAndroid (\d+)/, (m) => `Android ${m[1]}`],
  [/\bAndroid\b/, () => 'Android'],
  [/\bCrOS\b/, () => 'ChromeOS'],
  [/\bMac OS X\b/, () => 'macOS'],
  [/\bUbuntu\b/, () => 'Ubuntu'],
  [/\bFedora\b/, () => 'Fedora'],
  [/\bLinux\b/, () => 'Linux'],
];

function windowsName(version: string | undefined): string {
  switch (version) {
    case '10.0':
      return 'Windows'; // 10 and 11 both say 10.0
    case '6.3':
      return 'Windows 8.1';
    case '6.2':
      return 'Windows 8';
    case '6.1':
      return 'Windows 7';
    default:
      return 'Windows';
  }
}

export function parseUserAgent(userAgent: string | undefined | null): UserAgentInfo {
  const ua = userAgent ?? '';
  let browser = 'Unknown browser';
  for (const [pattern, name] of browsers) {
    const match = ua.match(pattern);
    if (match) {
      browser = match[1] ? `${name} ${match[1]}` : name;
      break;
    }
  }
  let os = 'Unknown system';
  for (const [pattern, name] of systems) {
    const match = ua.match(pattern);
    if (match) {
      os = name(match);
      break;
    }
  }
  return { browser, os };
}

/** "Firefox 128 on Windows", or "Unknown device". */
export function describeUserAgent(userAgent: string | undefined | null): string {
  const { browser, os } = parseUserAgent(userAgent);
  if (browser === 'Unknown browser' && os === 'Unknown system') return 'Unknown device';
  if (os === 'Unknown system') return browser;
  if (browser === 'Unknown browser') return `Browser on ${os}`;
  return `${browser} on ${os}`;
}
