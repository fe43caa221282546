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
