/** Core library surface: the session controller, its config helpers, NIC inventory and the timeline. */
export { SessionController, realEngineFactory, toSessionError } from './session.js';
export type { SessionControllerOptions, EngineFactory, PortedEngine, ClientAction } from './session.js';
export {
  validateConfig,
  ConfigError,
  normalizeMac,
  parseIpv4,
  formatIpv4,
  parsePrefix,
  sameSubnet,
  parseVendorOptions,
  checkChainloadUrl,
} from './config-validate.js';
export type { ValidatedConfig, ValidationContext } from './config-validate.js';
export { importProxyDhcpdIni, importPyPxeJson, isPyPxeJson, parseIni } from './config-import.js';
export { listInterfaces, unsuitableReason } from './interfaces.js';
export { Timeline } from './timeline.js';
export { sniffRequest } from './lease-sniff.js';
export type { SniffedRequest } from './lease-sniff.js';
export type { TimelineOptions } from './timeline.js';
export { locateBootFiles } from './boot-files.js';
