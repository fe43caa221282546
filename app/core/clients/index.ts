/**
 * The client model (one owner per client fact) and its views: timeline lines, diagnosis rules, file
 * roles and the boot-loop rule.
 */
export { ClientBook } from './client-book.js';
export type { ClientBookOptions, LoopFinding } from './client-book.js';
export { diagnose, refusalKind } from './diagnosis.js';
export type { DiagnosisOptions } from './diagnosis.js';
export type { ClientFacts } from './facts.js';
export { fileRole, loopRun } from './file-roles.js';
export type { FileRole, LoopRule, LoopRun } from './file-roles.js';
