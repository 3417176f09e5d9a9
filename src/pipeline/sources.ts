import type { PlatformClient } from '../cxone/platform/types.js';
import type { CxoneClient, CxoneError } from '../cxone/types.js';
import type { TranscriptLine } from '../domain/transcript.js';
import { fetchPlatformTranscript } from './platform-transcript.js';

/**
 * Where the worker gets a conversation's transcript: one implementation per API profile. The answer
 * says what to do next: score, wait (still being transcribed or analysed), skip with a reason the
 * operator can act on (no usable source), or handle a failed CXone call.
 */
export type TranscriptFetch =
  | { kind: 'lines'; lines: TranscriptLine[]; warnings: string[] }
  | { kind: 'not_ready'; reason: string }
  | { kind: 'no_source'; reason: string }
  | { kind: 'failed'; error: CxoneError };

export interface TranscriptSource {
  fetch(conversationId: string): Promise<TranscriptFetch>;
}

/** The tutorial API: one GET; 404 while transcription runs. */
export function tutorialSource(cxone: Pick<CxoneClient, 'getTranscript'>): TranscriptSource {
  return {
    async fetch(conversationId) {
      const answer = await cxone.getTranscript(conversationId);
      if (answer.ok) return { kind: 'lines', lines: answer.value, warnings: [] };
      if (answer.error.kind === 'not_ready')
        return { kind: 'not_ready', reason: 'transcript not ready (404)' };
      return { kind: 'failed', error: answer.error };
    },
  };
}

/** The documented APIs: Media Playback, then IA per segment, or a chat's messages. */
export function platformSource(
  client: Pick<PlatformClient, 'contactMedia' | 'segmentTranscript'>,
): TranscriptSource {
  return {
    async fetch(contactId) {
      const out = await fetchPlatformTranscript(client, contactId);
      return out.kind === 'lines' ? { kind: 'lines', lines: out.lines, warnings: out.warnings } : out;
    },
  };
}
