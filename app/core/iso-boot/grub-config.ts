/** GRUB configuration evaluator (in progress). */
import type { IsoFirmware } from '../../shared/iso-boot-types.js';
import type { ConfigLog, ConfigReader, LoaderMenu } from './types.js';

export async function readGrubMenu(
  _reader: ConfigReader,
  _path: string,
  _firmware: IsoFirmware,
  _log: ConfigLog,
): Promise<LoaderMenu | undefined> {
  return undefined;
}
