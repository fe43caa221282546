/** systemd-boot loader entries (in progress). */
import type { ConfigLog, ConfigReader, LoaderMenu } from './types.js';

export async function readSystemdBootMenu(
  _reader: ConfigReader,
  _log: ConfigLog,
): Promise<LoaderMenu | undefined> {
  return undefined;
}
