/** ISO image reader: ISO 9660 + Rock Ridge + Joliet, El Torito, UDF, over positioned reads. See docs/iso-reader.md. */
export { IsoError, isIsoError, type IsoErrorCode } from './iso-error.js';
export { memorySource, subSource, readAt, readExtents, type Extent, type IsoSource } from './source.js';
export { openIso, type IsoImage, type OpenIsoOptions } from './open-iso.js';
export { nameKey, type FsView } from './view.js';
export { openFat } from './fat.js';
export type { IsoEntry, EntryKind } from './tree.js';
export type { BootEntry, ElTorito, MediaType, Platform } from './el-torito.js';
