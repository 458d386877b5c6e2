/**
 * The wire format of ping-liveness (docs/protocols.md section 3, seed 002): one JSON object per line,
 * `{"mtype":N,"payload":{...},"version":"1.0.0","sz":N}`, with the seed's message types and error
 * codes. Shared by the reference server and the conformance harness.
 */

/** Message types, as the seed numbers them. */
export const PingMtype = {
  loginRequest: 1,
  loginResponse: 2,
  chatMessage: 3,
  logout: 4,
  error: 5,
  ping: 6,
  versionRequest: 7,
  versionResponse: 8,
} as const;

/** ERROR codes: the seed's 1, 2, 3 and 5, and protosim's 4 (bad request). */
export const PingErrorCode = {
  sessionNotFound: 1,
  timeout: 2,
  loggedInElsewhere: 3,
  badRequest: 4,
  unsupportedVersion: 5,
} as const;

/** Versions this server speaks, best first. */
export const pingSupportedVersions = ['1.0.0'] as const;

/** Encodes one message as a JSON line. */
export function encodePingMessage(mtype: number, payload: Record<string, unknown>): string {
  const body = JSON.stringify(payload);
  return `${JSON.stringify({ mtype, payload, version: pingSupportedVersions[0], sz: Buffer.byteLength(body) })}\n`;
}
