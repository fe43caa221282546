/**
 * The session module: the controller (lifecycle), its typed engine factory, the preflight, the client
 * pipeline, the loop breaker and the error mapping. Callers import from here, not from the files.
 */
export { SessionController, realEngineFactory, toSessionError } from './session.js';
export type {
  SessionControllerOptions,
  PreflightProbeOptions,
  EngineFactory,
  PortedEngine,
  TransportRequest,
  ClientAction,
} from './session.js';
