/** Core library surface: the session controller, its config helpers, NIC inventory, the timeline, the preflight probe, diagnosis and the session report. */
export { SessionController, realEngineFactory, toSessionError } from './session/index.js';
export type { SessionControllerOptions, EngineFactory, PortedEngine, ClientAction } from './session/index.js';
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
export { Timeline } from './clients/timeline.js';
export type { TimelineOptions } from './clients/timeline.js';
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
export { ClientDiagnoser, diagnose } from './clients/diagnosis.js';
export type { DiagnosisOptions, LoopFinding } from './clients/diagnosis.js';
export { buildReport, renderReport, reportHtml, reportJson, escapeHtml, foreignLanHooks } from './report.js';
export type { SessionReport, ReportInput } from './report.js';
