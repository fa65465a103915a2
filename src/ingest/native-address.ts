/**
 * Sender addresses of the native UDP addon, from the raw bytes in its meta array, as text the way
 * node:dgram and libuv write them (`127.0.0.1`, `::1`, `::ffff:1.2.3.4`): the allow-list matches them.
 */

function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/**
 * The text of a raw address as node reports senders: dotted quad, or RFC 5952 IPv6 (the longest
 * run of two or more zero groups compressed, the first one on a tie, lowercase hex), IPv4-mapped
 * and IPv4-compatible addresses ending in a dotted quad (::ffff:192.0.2.1), as libuv's inet_ntop.
 */
export function formatAddress(family: 4 | 6, bytes: Uint8Array, offset: number): string {
  if (family === 4) return ipv4Text(bytes, offset);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return text + ipv4Text(bytes, offset + 12);
    }
    text += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) text += ':';
  return text;
}
