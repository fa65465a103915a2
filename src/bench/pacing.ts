/** How the bench's senders keep to their rate: by the clock, catching up in bursts when behind. */

/** Seconds since `startNs`. */
export function since(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

/** Waits until `sent` is due at `rate` (a timer), or just lets the event loop run when behind. */
export async function pace(sent: number, due: number, rate: number, elapsedS: number): Promise<void> {
  if (sent < due) await new Promise((resolve) => setImmediate(resolve));
  else await new Promise((resolve) => setTimeout(resolve, Math.max(0, (sent / rate - elapsedS) * 1000 - 1)));
}
