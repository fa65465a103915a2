/** The framing module's public surface: encoders per framing (framing.ts) and the stream decoder (decoder.ts). */
export {
  FRAMING_NAMES,
  encode,
  encodeBatch,
  type EncodedBatch,
  framingFor,
  isFramingName,
  type CarryVerdict,
  type Framing,
  type FramingName,
} from './framing.js';
export { FrameDecoder } from './decoder.js';
