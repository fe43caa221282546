/** An IsoSource over a file on disk: positioned reads through one fs.promises FileHandle. */
import { open, type FileHandle } from 'node:fs/promises';
import type { IsoSource } from './source.js';

export interface FileSource extends IsoSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileSource> {
  const fh: FileHandle = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return {
      size,
      async read(offset, length) {
        const buf = new Uint8Array(length);
        let done = 0;
        // A positioned read may return fewer bytes than asked; loop until the range is in or EOF.
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === length ? buf : buf.subarray(0, done);
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
