/**
 * The browser UI's upload answer (renderer/src/upload-answer.ts): anything but 200 with `{"source": "..."}` ends
 * the copy with a message the page shows, never a promise left pending (a reverse proxy's HTML error page,
 * a truncated body, an error status).
 */
import { describe, expect, it } from 'vitest';
import { uploadAnswer } from '../../renderer/src/upload-answer.js';

describe('upload answer (browser UI)', () => {
  it('200 with the stored copy is the upload id', () => {
    expect(uploadAnswer(200, '{"source":"/tmp/pxe-desk-upload-x/1/vmlinuz"}')).toEqual({
      source: '/tmp/pxe-desk-upload-x/1/vmlinuz',
    });
  });

  it('a body that is not JSON fails with a message, also on 200', () => {
    const r = uploadAnswer(200, '<html><body>502 Bad Gateway</body></html>');
    expect(r).toEqual({ error: expect.stringContaining('not JSON') as unknown });
    expect(uploadAnswer(200, '{"source": "/tmp/x"')).toMatchObject({
      error: expect.stringContaining('not JSON'),
    });
    expect(uploadAnswer(200, '')).toMatchObject({ error: expect.stringContaining('not JSON') });
  });

  it('JSON without the stored file fails', () => {
    for (const body of ['{}', '[]', 'null', '{"source":""}', '{"source":42}'])
      expect(uploadAnswer(200, body), body).toMatchObject({ error: expect.stringContaining('without') });
  });

  it('an error status fails with the status and what the server said', () => {
    expect(uploadAnswer(413, 'too large')).toEqual({ error: 'Upload failed (HTTP 413): too large' });
    expect(uploadAnswer(403, 'bad token')).toEqual({ error: 'Upload failed (HTTP 403): bad token' });
    expect(uploadAnswer(0, '')).toEqual({ error: 'Upload failed (HTTP no answer)' });
    // A JSON-looking body with an error status is still an error.
    expect(uploadAnswer(500, '{"source":"/tmp/x"}')).toMatchObject({ error: expect.stringContaining('500') });
  });
});
