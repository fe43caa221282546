import { describe, expect, it } from 'vitest';
import { UsageError } from '../../app/cli/args.js';
import { createLogFilter, logLevels, serviceOf } from '../../app/cli/log-filter.js';
import type { LogLevel, LogRecord } from '../../app/shared/runtime.js';

const rec = (source: string, level: LogLevel): LogRecord => ({ time: 0, level, source, message: 'm' });

describe('per-service log levels (PyPXE --debug/--verbose, --log-level)', () => {
  it('no flags: every service at info', () => {
    expect(logLevels({})).toEqual({
      dhcp: 'info',
      tftp: 'info',
      http: 'info',
      ipxe: 'info',
      session: 'info',
      helper: 'info',
    });
  });

  it('--debug dhcp,tftp: those at debug, the others quiet (warn), as PyPXE', () => {
    const l = logLevels({ debug: 'dhcp,tftp' });
    expect(l).toMatchObject({ dhcp: 'debug', tftp: 'debug', http: 'warn', session: 'warn' });
    const keep = createLogFilter(l);
    expect(keep(rec('proxy', 'debug'))).toBe(true); // the proxy engine is the dhcp service
    expect(keep(rec('dhcp', 'debug'))).toBe(true);
    expect(keep(rec('tftp', 'debug'))).toBe(true);
    expect(keep(rec('http', 'info'))).toBe(false);
    expect(keep(rec('http', 'warn'))).toBe(true);
    expect(keep(rec('session', 'info'))).toBe(false);
  });

  it('all, negation and --verbose combine; --log-level sets the base and per-service overrides', () => {
    expect(logLevels({ debug: 'all,-dhcp' })).toMatchObject({ dhcp: 'warn', tftp: 'debug', http: 'debug' });
    expect(logLevels({ debug: '' })).toMatchObject({ dhcp: 'debug', session: 'debug' }); // bare --debug = all
    expect(logLevels({ verbose: 'http', debug: 'tftp' })).toMatchObject({
      http: 'info',
      tftp: 'debug',
      dhcp: 'warn',
    });
    expect(logLevels({ verbose: 'http', logLevel: 'error' })).toMatchObject({ http: 'info', tftp: 'error' });
    expect(logLevels({ logLevel: 'warn,tftp=debug,DHCP=error' })).toMatchObject({
      tftp: 'debug',
      dhcp: 'error',
      http: 'warn',
    });
    // An explicit per-service level wins over --debug.
    expect(logLevels({ debug: 'all', logLevel: 'http=error' }).http).toBe('error');
  });

  it('maps engine logger sources onto services', () => {
    expect(['proxy', 'dhcp', 'tftp', 'http', 'library', 'helper', 'session', 'x'].map(serviceOf)).toEqual([
      'dhcp',
      'dhcp',
      'tftp',
      'http',
      'ipxe',
      'helper',
      'session',
      'session',
    ]);
  });

  it('bad names and levels are usage errors that list the choices', () => {
    expect(() => logLevels({ debug: 'dns' })).toThrow(UsageError);
    expect(() => logLevels({ debug: 'dns' })).toThrow(/unknown service "dns".*dhcp, tftp, http/);
    expect(() => logLevels({ logLevel: 'loud' })).toThrow(/"loud" is not one of debug, info, warn, error/);
    expect(() => logLevels({ logLevel: 'nfs=debug' })).toThrow(/unknown service "nfs"/);
  });
});
