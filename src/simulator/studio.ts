import { STUDIO_WEBHOOK_PATH } from '../http/studio.js';

/**
 * A Studio script's ONRELEASE call as CXone makes it (REST API action / GetRESTProxy): JSON with the
 * contact id, the agent id and the media type, and the bearer token the script was given. For the
 * demo and the tests.
 */
export async function deliverStudioCall(options: {
  url: string;
  token: string;
  contactId: string;
  agentId?: string | null;
  mediaType?: string;
}): Promise<number> {
  // Studio variables are text: the ids travel as digit strings, as a real script sends them.
  const body = JSON.stringify({
    contactId: options.contactId,
    agentId: options.agentId ?? '',
    mediaType: options.mediaType ?? 'Call',
  });
  const response = await fetch(`${options.url.replace(/\/+$/, '')}${STUDIO_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}
