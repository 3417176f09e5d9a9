import type { CxoneResult } from '../types.js';
import type { AnalyzedBlockWire, MediaMessageWire, PlatformFamily } from './schemas.js';

/** The documented CXone APIs as the platform profile's pipeline sees them (client.ts implements it). */

export interface CompletedContact {
  contactId: string;
  /** null: no agent (Reporting sends 0). */
  agentId: string | null;
  mediaTypeId: number | null;
  mediaTypeName: string | null;
  startTime: string | null;
  /** contactStartDate + totalDurationSeconds: Reporting has no end-time field (L). */
  endTime: string | null;
  lastUpdateTime: string | null;
}

export interface CompletedContactsPage {
  contacts: CompletedContact[];
  /** Rows whose ids cannot be used (not an int64): left out, each with the reason. */
  refused: { index: number; reason: string }[];
  /** The server's time of this answer (M: the next incremental poll's updatedSince). */
  lastPollTime: string | null;
  /** Another page may follow (`_links.next`, or a full page). */
  more: boolean;
}

export interface ContactInteraction {
  /** `call`, `chat`, `email` (Media Playback's `@type`), or what the tenant sent. */
  type: string;
  channelType: string | null;
  segments: { segmentId: string; startTime: string | null; endTime: string | null }[];
  /** Chats and digital contacts; null when the interaction has none. */
  messages: MediaMessageWire[] | null;
}

export interface PlatformClient {
  /** Discovery, token and API host: what start-up and `npm run sweep` check before anything else. */
  connect(): Promise<CxoneResult<{ apiEndpoint: string }>>;
  completedContacts(query: {
    updatedSince: string;
    skip: number;
    top: number;
  }): Promise<CxoneResult<CompletedContactsPage>>;
  /** Media Playback for the ACD contact id; 404 (nothing recorded yet) is `not_ready`. */
  contactMedia(contactId: string): Promise<CxoneResult<ContactInteraction[]>>;
  /** IA's analysed transcript of one segment; 404 (not analysed yet) is `not_ready`, 403 `forbidden`. */
  segmentTranscript(segmentId: string): Promise<CxoneResult<AnalyzedBlockWire[]>>;
  /** PUT business data on the contact; 204. */
  writeBusinessData(contactId: string, body: Record<string, string>[]): Promise<CxoneResult<void>>;
  /**
   * Until when a 429 pauses every call of the API family (in any process on the database), or null:
   * for "paused by CXone until ..." in messages about a call that never went out.
   */
  pausedUntil(family: PlatformFamily): number | null;
  close(): Promise<void>;
}
