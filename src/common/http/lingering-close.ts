import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Lingering close (RFC 9112 §9.6). The BFF refuses some bodies without reading them: over the
 * route's byte limit (413, from the Content-Length alone) and the Mydex callback without its
 * `Authentication` header (401). Such an answer closes the connection, and Node closes it with
 * `socket.destroySoon()` as soon as the answer is written. If the client is still sending the body,
 * the unread bytes make the kernel answer them with a TCP reset, and a client whose next write meets
 * that reset usually drops the answer that had already arrived: it sees ECONNRESET/EPIPE instead of
 * the problem+json telling it what was wrong (seen in CI on a busy machine).
 *
 * So the server half-closes instead (its FIN follows the answer), keeps reading and discarding what
 * the client still sends (Node's HTTP parser reads it straight from the socket and drops the body),
 * and closes fully when the client closes its side or after LINGER_MS, whichever comes first (as
 * nginx's lingering_time). Nothing is parsed or kept; the cost is one timer per closing connection.
 */
export const LINGER_MS = 2_000;

export function installLingeringClose(server: Server): void {
  server.on('connection', (socket: Socket) => {
    // The same function object for every socket: no closure per connection.
    socket.destroySoon = lingeringDestroySoon;
  });
}

function lingeringDestroySoon(this: Socket): void {
  if (this.destroyed) return;
  if (this.writable) this.end();
  if (this.readableEnded) {
    // The client has already closed its side: nothing more can arrive.
    closeWhenWritten(this);
    return;
  }
  const timer = setTimeout(() => this.destroy(), LINGER_MS);
  timer.unref();
  this.once('end', () => closeWhenWritten(this));
  this.once('close', () => clearTimeout(timer));
  this.resume();
}

/** Destroys once our answer has been handed to the kernel (as Node's own destroySoon does). */
function closeWhenWritten(socket: Socket): void {
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
