/**
 * Core library surface: the session controller, its config helpers, NIC inventory, the client model
 * (timeline, diagnoses, blocks and pauses), the preflight probe and the session report.
 */
export { SessionController, realEngineFactory, toSessionError } from './session/index.js';
export type {
  SessionControllerOptions,
  EngineFactory,
  PortedEngine,
  TransportRequest,
  ClientAction,
} from './session/index.js';
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
export { ClientBook, diagnose, fileRole } from './clients/index.js';
export type { ClientBookOptions, DiagnosisOptions, LoopFinding } from './clients/index.js';
/** The client model under its first library name (the per-client timeline grew into it). */
export { ClientBook as Timeline } from './clients/index.js';
export type { ClientBookOptions as TimelineOptions } from './clients/index.js';
export { locateBootFiles } from './boot-files.js';
export {
  DhcpProbe,
  probeInterface,
  assessProbe,
  probeRefusal,
  warningsFor,
  formatProbe,
  ProbeError,
  DEFAULT_PROBE_WINDOW_MS,
} from './probe.js';
export type { DhcpProbeOptions, ProbeInterfaceOptions } from './probe.js';
export { buildReport, renderReport, reportHtml, reportJson, escapeHtml, foreignLanHooks } from './report.js';
export type { SessionReport, ReportInput } from './report.js';
