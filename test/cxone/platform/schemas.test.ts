import { describe, expect, it } from 'vitest';
import { describeErrorBody } from '../../../src/cxone/platform/schemas.js';

describe('describeErrorBody: each family its own body', () => {
  it('reads auth/Reporting {error, error_description}', () => {
    expect(
      describeErrorBody('auth', '{"error":"invalid_grant","error_description":"Invalid access key"}'),
    ).toBe('invalid_grant: Invalid access key');
  });
  it('reads IA {statusCode, timestamp, message} and its 404 {error, path, status}', () => {
    expect(
      describeErrorBody(
        'interactionAnalytics',
        '{"statusCode":429,"timestamp":"2026-01-01T00:00:00Z","message":"Slow down"}',
      ),
    ).toBe('Slow down');
    expect(describeErrorBody('interactionAnalytics', '{"error":"Not Found","path":"/x","status":404}')).toBe(
      'Not Found',
    );
  });
  it('reads Media Playback {internalCode, message} and its 429 {message, route}', () => {
    expect(
      describeErrorBody(
        'mediaPlayback',
        '{"message":"Too Many Requests","route":"/media-playback/v1/contacts"}',
      ),
    ).toBe('Too Many Requests: route /media-playback/v1/contacts');
  });
  it('names the Business Data field that was refused', () => {
    const body = JSON.stringify({
      code: '400',
      details: 'Validation failed',
      errors: {
        businessDataName: { errorCode: 'UNKNOWN_FIELD', message: "Business data 'QA_Scor' is not defined" },
      },
    });
    expect(describeErrorBody('businessData', body)).toBe(
      "400: Validation failed: businessDataName: UNKNOWN_FIELD Business data 'QA_Scor' is not defined",
    );
  });
  it('falls back to the common fields, then to the text, cut short', () => {
    expect(describeErrorBody('businessData', '{"message":"gateway timeout"}')).toBe('gateway timeout');
    expect(describeErrorBody('reporting', `<html>${'x'.repeat(1000)}</html>`)).toHaveLength(300);
  });
});
