export { HttpBootServer } from './http-boot-server.js';
export type { HttpBootServerOptions, ScriptHook } from './http-boot-server.js';
export { contentTypeFor } from './content-type.js';
export { parseRange } from './http-range.js';
export type { ByteRange } from './http-range.js';
