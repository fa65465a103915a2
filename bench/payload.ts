/**
 * Bench payloads: ASCII, so every framing (lf and octet included) carries them intact.
 *
 *   B<sender>:<seq>:<sendTimeNs>;xxxxxxxx…     (padded with 'x' to the requested size)
 *
 * sendTimeNs is process.hrtime.bigint() of the bench process: senders and sinks are threads of
 * that process, so a sink's arrival time minus it is the end-to-end latency through the relay.
 */

const PAD = 0x78; // 'x'
const MIN_BYTES = 32;

/** The smallest size a payload can have (room for the header). */
export const MIN_PAYLOAD_BYTES = MIN_BYTES;

/** Writes payload (sender, seq, now) into `out` (its length is the payload size); returns `out`. */
export function writePayload(out: Buffer, sender: number, seq: number, sendTimeNs: bigint): Buffer {
  const header = `B${sender}:${seq}:${sendTimeNs};`;
  const written = out.write(header, 0, 'latin1');
  out.fill(PAD, written);
  return out;
}

/** The fields of a payload, or undefined if it is not one of ours (a torn or foreign message). */
export function readPayload(payload: Uint8Array): { sender: number; seq: number; sendTimeNs: bigint } | undefined {
  if (payload.length < 6 || payload[0] !== 0x42 /* B */) return undefined;
  const end = payload.indexOf(0x3b /* ; */);
  if (end === -1 || end > 48) return undefined;
  const match = /^B(\d+):(\d+):(\d+)$/.exec(Buffer.from(payload.buffer, payload.byteOffset, end).toString('latin1'));
  if (!match) return undefined;
  for (let i = end + 1; i < payload.length; i++) if (payload[i] !== PAD) return undefined;
  return { sender: Number(match[1]), seq: Number(match[2]), sendTimeNs: BigInt(match[3]!) };
}
