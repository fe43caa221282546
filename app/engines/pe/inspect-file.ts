/** inspectPe over a file on disk: reads the headers and the certificate table only, never the whole file. */
import { openFileSource } from '../iso/file-source.js';
import { inspectPe, type PeInspection } from './authenticode.js';
import { PeError } from './pe-error.js';

export async function inspectPeFile(path: string): Promise<PeInspection> {
  let src;
  try {
    src = await openFileSource(path);
  } catch (e) {
    throw new PeError('io', `cannot open ${path}`, { cause: e });
  }
  try {
    return await inspectPe(src);
  } finally {
    await src.close();
  }
}
