/** Pure (no DOM): what an answer of the ui-server's upload endpoint means; tested in test/unit. */
import { isPlainRecord } from '../../app/shared/ipc-contract.js';

/**
 * What the upload endpoint answered, as the upload id of the stored copy, or an error that says what went
 * wrong. Every answer other than 200 with `{"source": "..."}` is a failure: a proxy's HTML error page or a
 * truncated body must end the copy with a message, never leave the page waiting.
 */
export function uploadAnswer(status: number, body: string): { source: string } | { error: string } {
  const excerpt = body.trim().slice(0, 200);
  if (status !== 200)
    return { error: `Upload failed (HTTP ${status || 'no answer'})${excerpt ? `: ${excerpt}` : ''}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: `Upload failed: PXE Desk's answer was not JSON${excerpt ? ` (${excerpt})` : ''}` };
  }
  if (isPlainRecord(parsed) && typeof parsed.source === 'string' && parsed.source !== '')
    return { source: parsed.source };
  return { error: 'Upload failed: PXE Desk answered without the stored file' };
}
