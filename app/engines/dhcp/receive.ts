/**
 * The receive path both DHCP servers share. A hostile or malformed packet must never stop the loop
 * (pixiecore-style): it is decoded, counted as malformed on any error, logged at debug and dropped.
 */
import type { Datagram } from '../../shared/datagram-transport.js';
import type { DhcpEvent } from '../../shared/events.js';
import type { Logger } from '../../shared/runtime.js';
import { decode, type DhcpMessage } from './codec.js';

export interface ReceiveCounters {
  received: number;
  malformed: number;
}

/** Decode `d` and hand it to `dispatch`; never throws. */
export function receiveDatagram(
  d: Datagram,
  stats: ReceiveCounters,
  logger: Logger,
  dispatch: (msg: DhcpMessage) => void,
): void {
  stats.received++;
  let msg: DhcpMessage;
  try {
    msg = decode(d.data);
  } catch (err) {
    stats.malformed++;
    logger.debug('dropped malformed datagram', { from: d.source.address, error: String(err) });
    return;
  }
  try {
    dispatch(msg);
  } catch (err) {
    stats.malformed++;
    logger.debug('dropped datagram', { from: d.source.address, error: String(err) });
  }
}

/** Deliver an event to every listener; one listener's bug must not reach the others or the loop. */
export function emitEvent(
  listeners: Iterable<(e: DhcpEvent) => void>,
  event: DhcpEvent,
  logger: Logger,
): void {
  for (const l of listeners) {
    try {
      l(event);
    } catch (err) {
      logger.warn('event listener threw', { error: String(err) });
    }
  }
}
