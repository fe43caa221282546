export {
  DhcpDecodeError,
  MessageType,
  Opt,
  decode,
  encode,
  macOf,
  messageType,
  clientArchs,
  userClasses,
  subOptions,
} from './codec.js';
export type { DhcpMessage, EncodeOptions } from './codec.js';
export { ProxyDhcpServer } from './proxy-server.js';
export type { ProxyDhcpServerOptions } from './proxy-server.js';
export { DhcpServer } from './dhcp-server.js';
export type { DhcpServerOptions, Lease } from './dhcp-server.js';
export type { DhcpEngineOptions } from './engine-base.js';
export {
  DEFAULT_BOOT_FILES,
  decideBoot,
  decideBootItem,
  exclusionOf,
  firmwareOfRequest,
  refusalNeedsAction,
} from './boot-decision.js';
export type {
  BootConfig,
  BootPlan,
  BootRefusal,
  BootRequest,
  Exclusion,
  OperatorExclusion,
} from './boot-decision.js';
export { isNetbootClient, netbootClassOf } from './netboot-client.js';
export type { NetbootClass } from './netboot-client.js';
export { encodePxeMenu, menuItemType, pxeMenuProblems } from './pxe-menu.js';
export type { PxeMenu, PxeMenuItem } from './pxe-menu.js';
