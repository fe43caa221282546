/**
 * Start and run-time failures as SessionErrors: a stable code and a message that says what to change.
 */
import type { SessionError } from '../../shared/session-types.js';
import { ConfigError } from '../config-validate.js';

export function toSessionError(error: unknown): SessionError {
  if (error instanceof ConfigError) return { code: error.code, message: error.message };
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'start-failed';
    const raw = typeof e.message === 'string' ? e.message : String(error);
    // Engines wrap the socket error in their own message (e.g. "HTTP server cannot listen on …:
    // listen EADDRINUSE …"): recognise the errno inside the text too, so every start error gets its fix.
    if (code === 'EADDRINUSE' || code === 'port-in-use' || /\bEADDRINUSE\b/.test(raw))
      return {
        code: 'port-in-use',
        message: `${raw}: another server uses this port; stop it or choose another port.`,
      };
    if (code === 'EACCES' || code === 'permission-denied' || /\bEACCES\b/.test(raw))
      return {
        code: 'permission-denied',
        message: `${raw}: ports below 1024 need the helper or root; use --helper auto or high ports.`,
      };
    return { code, message: raw };
  }
  return { code: 'start-failed', message: String(error) };
}
