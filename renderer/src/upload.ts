/**
 * Dropped files in the browser UI (`serve --ui`): the bytes go to the ui-server's token-protected upload
 * endpoint (app/cli/ui-server.ts), which answers the stored copy's id for `library.import`.
 */
import { uploadAnswer } from './upload-answer.js';

/**
 * Hands a dropped browser File to main: in WebSocket mode the bytes are uploaded to the ui-server's
 * token-protected endpoint (with progress); in Electron the preload gives the real path.
 * Settles exactly once on every outcome (answer, network error, abort, timeout).
 */
export function uploadFile(
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  return new Promise((ok, fail) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/upload?token=${encodeURIComponent(token)}&name=${encodeURIComponent(file.name)}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const answer = uploadAnswer(xhr.status, String(xhr.responseText ?? ''));
      if ('source' in answer) ok(answer.source);
      else fail(new Error(answer.error));
    };
    xhr.onerror = () => fail(new Error('Upload failed: connection error'));
    xhr.onabort = () =>
      fail(Object.assign(new Error('Upload cancelled: nothing was copied.'), { code: 'cancelled' }));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.ontimeout = () => fail(new Error('Upload failed: no answer in time'));
    xhr.send(file);
  });
}
