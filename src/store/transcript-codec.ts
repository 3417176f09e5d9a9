import { gunzipSync, gzipSync } from 'node:zlib';
import type { TranscriptLine } from '../scoring/index.js';

/**
 * How stored transcripts are compressed: gzip at its default level. On 10-minute calls (~15 KB of
 * JSON) it keeps about a ninth of the bytes, within 10 % of brotli at quality 5, while compressing
 * about four times faster (this runs on the worker's path for every conversation) and inflating
 * about twice as fast (the backtest reads thousands). Its CRC also catches a damaged blob.
 */
export const TRANSCRIPT_CODEC = 'gzip';
/** A stored transcript never inflates past this: a corrupt or hostile blob cannot exhaust memory. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export function compressTranscript(lines: readonly TranscriptLine[]): Buffer {
  // Only the three fields, in a fixed order: whatever else CXone sent is not ours to keep.
  const json = JSON.stringify(
    lines.map((l) => ({
      speaker: String(l.speaker ?? ''),
      text: String(l.text ?? ''),
      timestamp: String(l.timestamp ?? ''),
    })),
  );
  return gzipSync(json);
}

/** The lines back, or null when the blob is not a transcript this codec wrote. */
export function decompressTranscript(codec: string, body: Buffer): TranscriptLine[] | null {
  try {
    if (codec !== TRANSCRIPT_CODEC) return null;
    const inflated = gunzipSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
    const parsed: unknown = JSON.parse(inflated.toString('utf8'));
    return Array.isArray(parsed) ? (parsed as TranscriptLine[]) : null;
  } catch {
    return null;
  }
}
