/** isolinux/syslinux configuration parser (in progress). */
import type { ConfigLog, ConfigReader, LoaderMenu } from './types.js';

export async function readIsolinuxMenu(
  _reader: ConfigReader,
  _path: string,
  _log: ConfigLog,
): Promise<LoaderMenu | undefined> {
  return undefined;
}
