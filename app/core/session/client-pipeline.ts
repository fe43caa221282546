/**
 * The client pipeline of a running session: every engine event and every other server's offer seen on
 * port 68 goes into the client model once, in order; boot loops it finds go to the loop breaker.
 */
import { MessageType } from '../../engines/dhcp/codec.js';
import type { Datagram } from '../../shared/datagram-transport.js';
import type { DhcpEvent, EngineEvent } from '../../shared/events.js';
import type { Clock } from '../../shared/runtime.js';
import type { SessionMode } from '../../shared/session-types.js';
import type { ClientBook } from '../clients/index.js';
import type { LoopBreaker } from './loop-breaker.js';
import { foreignOfferOf, type ForeignOffer, type ServerNotices } from './preflight.js';

/** How long another server's offer waits for our engine to see the same client's DISCOVER. */
const HOLD_FOREIGN_MS = 5000;
/** Held offers at most (a busy LAN's other DHCP traffic must not grow memory). */
const MAX_HELD = 256;

export class ClientPipeline {
  /** Other servers' offers for MACs we have not seen yet (bounded, a few seconds). */
  private readonly held = new Map<string, ForeignOffer>();

  constructor(
    private readonly book: ClientBook,
    private readonly breaker: LoopBreaker,
    private readonly notices: ServerNotices,
    private readonly mode: SessionMode,
    private readonly ownAddress: string,
    private readonly clock: Clock,
  ) {}

  /** Every engine event. */
  onEngineEvent(event: EngineEvent): void {
    const loop = this.book.ingest(event);
    if (loop) this.breaker.onLoop(loop);
    if (event.engine === 'tftp' || event.engine === 'http') return;
    const mac = (event as DhcpEvent).client.mac;
    const offer = this.held.get(mac);
    if (offer) {
      this.held.delete(mac);
      if (this.clock.now() - offer.event.time <= HOLD_FOREIGN_MS) this.onForeignOffer(offer);
    }
  }

  /** A datagram on port 68: another server's OFFER/ACK joins the client's record (site-boot-file). */
  onClientPort(d: Datagram): void {
    const offer = foreignOfferOf(d, this.ownAddress, this.mode, this.clock.now());
    if (!offer) return;
    this.notices.notice(offer.server);
    const mac = offer.event.client.mac;
    // Only machines that asked us (PXE clients): a busy LAN's other DHCP traffic is not our business.
    // The site's offer may be relayed before our engine has handled the same DISCOVER: hold it briefly.
    if (this.book.knows(mac)) {
      this.onForeignOffer(offer);
      return;
    }
    const now = this.clock.now();
    for (const [m, o] of this.held)
      if (now - o.event.time > HOLD_FOREIGN_MS || this.held.size > MAX_HELD) this.held.delete(m);
    this.held.set(mac, offer);
  }

  private onForeignOffer(offer: ForeignOffer): void {
    const mac = offer.event.client.mac;
    // In proxy mode the site server leases the address: learn it so TFTP/HTTP join this MAC's record.
    // An ACK is final; an OFFER only when nothing better is known for that address.
    const ip = offer.yiaddr;
    if (ip !== '0.0.0.0' && (offer.type === MessageType.Ack || !this.book.macForIp(ip)))
      this.book.learnIp(ip, mac);
    this.onEngineEvent(offer.event);
  }
}
