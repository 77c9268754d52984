// Tabs of one browser share the session cookie, so a sign-out in one is a
// sign-out in all: tell the others at once rather than at their next request.
// One channel per tab, so a tab never hears its own message.
const channelName = 'session';

type Message = { type: 'signed-out' };

let channel: BroadcastChannel | null = null;

function getChannel(): BroadcastChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  channel ??= new BroadcastChannel(channelName);
  return channel;
}

export function announceSignedOut(): void {
  getChannel()?.postMessage({ type: 'signed-out' } satisfies Message);
}

/** Calls onSignedOut when another tab signs out; returns the unsubscribe function. */
export function onSignedOutElsewhere(onSignedOut: () => void): () => void {
  const ch = getChannel();
  if (ch === null) return () => {};
  const listener = (event: MessageEvent<Message>) => {
    if (event.data?.type === 'signed-out') onSignedOut();
  };
  ch.addEventListener('message', listener);
  return () => ch.removeEventListener('message', listener);
}
