import type { PlatformSimulator } from './platform.js';
import { type CxoneSimulator, DEFAULT_SIMULATOR_FORM } from './simulator.js';

/**
 * The settings that point the service at a running simulator: its URL, the client it accepts and
 * its default form. The demo, the benchmarks and the process tests add their own on top.
 */
export function settingsForSimulator(sim: CxoneSimulator, url: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    CXONE_BASE_URL: url,
    CXONE_CLIENT_ID: sim.clientId,
    CXONE_CLIENT_SECRET: sim.clientSecret,
    QM_FORM_ID: DEFAULT_SIMULATOR_FORM.id,
  };
}

/**
 * The settings that point the service at a running platform simulator (CXONE_API=platform): its
 * issuer, the access key and application it accepts; the API host is discovered as on a real tenant.
 */
export function settingsForPlatformSimulator(sim: PlatformSimulator, url: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    CXONE_API: 'platform',
    CXONE_ISSUER: url,
    CXONE_ACCESS_KEY_ID: sim.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: sim.accessKeySecret,
    CXONE_CLIENT_ID: sim.clientId,
    CXONE_CLIENT_SECRET: sim.clientSecret,
  };
}
