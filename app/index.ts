/**
 * PXE Desk as a library: `import { SessionController, TftpServer, … } from 'pxe-desk'`.
 * Engines can be used on their own (each takes an injected transport/logger/clock), or through the
 * SessionController which validates a SessionConfig and wires the engines a mode needs.
 */
export * from './core/index.js';
export { ProxyDhcpServer, DhcpServer } from './engines/dhcp/index.js';
export type { ProxyDhcpServerOptions, DhcpServerOptions } from './engines/dhcp/index.js';
export { TftpServer } from './engines/tftp/index.js';
export type { TftpServerOptions } from './engines/tftp/index.js';
export { HttpBootServer } from './engines/http/index.js';
export type { HttpBootServerOptions } from './engines/http/index.js';
export { DirectTransport } from './transport/direct-transport.js';
export { chooseTransport } from './transport/choose-transport.js';
export type * from './shared/session-types.js';
export type * from './shared/events.js';
export type { Engine } from './shared/engine.js';
export type { DatagramTransport, Channel } from './shared/datagram-transport.js';
export { createLogger, silentLogger, systemClock } from './shared/runtime.js';
export type { Logger, Clock, LogRecord, LogLevel } from './shared/runtime.js';
