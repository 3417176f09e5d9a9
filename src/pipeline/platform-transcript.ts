import {
  assembleCallTranscript,
  assembleChatTranscript,
  type SegmentTranscript,
} from '../cxone/platform/transcript.js';
import type { PlatformClient } from '../cxone/platform/types.js';
import type { CxoneError } from '../cxone/types.js';
import type { TranscriptLine } from '../domain/transcript.js';

/**
 * A contact's transcript in the platform profile: Media Playback says what the contact is (a call
 * with its segments, a chat or digital contact with its messages); a call's words come from
 * Interaction Analytics, one analysed transcript per segment, a chat's from the messages.
 *
 * The answer says what the worker should do: score the lines, wait (a segment not analysed yet, or
 * nothing recorded yet), give up on this contact with a reason the operator can act on (no usable
 * source: no IA licence, a call not recorded, an email), or handle a failed call like any other.
 */
export type PlatformTranscript =
  | {
      kind: 'lines';
      lines: TranscriptLine[];
      warnings: string[];
      source: 'interaction-analytics' | 'messages';
    }
  | { kind: 'not_ready'; reason: string }
  | { kind: 'no_source'; reason: string }
  | { kind: 'failed'; error: CxoneError };

/** At most this many segments are read for one contact; more is not a contact, it is a bug. */
export const MAX_SEGMENTS_PER_CONTACT = 50;

export async function fetchPlatformTranscript(
  client: Pick<PlatformClient, 'contactMedia' | 'segmentTranscript'>,
  contactId: string,
): Promise<PlatformTranscript> {
  const media = await client.contactMedia(contactId);
  if (!media.ok) {
    if (media.error.kind === 'not_ready') {
      return { kind: 'not_ready', reason: 'Media Playback has no recording or messages for the contact yet' };
    }
    if (media.error.kind === 'forbidden') {
      return {
        kind: 'no_source',
        reason: `${media.error.message}: give the service employee the permission to view interactions (recordings and chats)`,
      };
    }
    return { kind: 'failed', error: media.error };
  }
  const interactions = media.value;

  const messages = interactions.flatMap((i) => i.messages ?? []);
  if (messages.length > 0) {
    return { kind: 'lines', lines: assembleChatTranscript(messages), warnings: [], source: 'messages' };
  }

  const segments = interactions.flatMap((i) => i.segments);
  if (segments.length === 0) {
    const types = new Set(interactions.map((i) => i.type || 'unknown'));
    if (types.has('email')) {
      return {
        kind: 'no_source',
        reason: 'email contact: the documented APIs give no transcript of emails to score',
      };
    }
    if (types.has('chat')) {
      return {
        kind: 'no_source',
        reason:
          'chat or digital contact without messages in Media Playback (the Digital Engagement join from an ACD contact to its case is not documented)',
      };
    }
    if (types.size === 0) {
      return { kind: 'no_source', reason: 'Media Playback lists no interaction for the contact' };
    }
    return {
      kind: 'no_source',
      reason:
        'call without a recorded segment: turn on recording (and Interaction Analytics) for its skill to have it scored',
    };
  }
  if (segments.length > MAX_SEGMENTS_PER_CONTACT) {
    return {
      kind: 'no_source',
      reason: `the contact has ${segments.length} segments (more than ${MAX_SEGMENTS_PER_CONTACT}): not read`,
    };
  }

  // One segment at a time, in order: the first one not analysed yet ends the look (the whole contact
  // waits), so a late segment does not cost a call per other segment on every check.
  const read: SegmentTranscript[] = [];
  const seen = new Set<string>();
  for (const segment of segments) {
    if (seen.has(segment.segmentId)) continue;
    seen.add(segment.segmentId);
    const answer = await client.segmentTranscript(segment.segmentId);
    if (!answer.ok) {
      if (answer.error.kind === 'not_ready') {
        return {
          kind: 'not_ready',
          reason: `segment ${read.length + 1} of ${segments.length} not analysed by Interaction Analytics yet`,
        };
      }
      if (answer.error.kind === 'forbidden') {
        return {
          kind: 'no_source',
          reason: `${answer.error.message}: calls are transcribed by Interaction Analytics only`,
        };
      }
      return { kind: 'failed', error: answer.error };
    }
    read.push({ ...segment, blocks: answer.value });
  }
  const assembled = assembleCallTranscript(read);
  return {
    kind: 'lines',
    lines: assembled.lines,
    warnings: assembled.warnings,
    source: 'interaction-analytics',
  };
}
