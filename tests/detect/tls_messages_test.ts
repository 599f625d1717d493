import assert from "node:assert/strict";
import { TlsMessages } from "../../src/detect/tls_messages.ts";

const T = { CCS: 20, ALERT: 21, HANDSHAKE: 22, APPDATA: 23 } as const;

function collect(records: Array<[number, number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const m = new TlsMessages();
  const sink = { message: (d: number, n: number) => out.push([d, n]) };
  let ts = 0;
  for (const [d, t, len] of records) m.record(d, t, len, ts += 0.001, sink);
  m.flush(sink);
  return out;
}

Deno.test("tls messages: TLS 1.3 handshake skipped, tickets dropped, records merged", () => {
  // Real order seen with SoftEther 5.01 (OpenSSL 3): records of direct_443.pcap.
  const msgs = collect([
    [0, T.HANDSHAKE, 306],
    [1, T.HANDSHAKE, 122],
    [1, T.CCS, 1],
    [1, T.APPDATA, 23],
    [1, T.APPDATA, 908],
    [1, T.APPDATA, 281],
    [1, T.APPDATA, 69],
    [0, T.CCS, 1],
    [0, T.APPDATA, 69], // client Finished
    [1, T.APPDATA, 74], // NewSessionTicket
    [1, T.APPDATA, 74],
    [0, T.APPDATA, 268],
    [0, T.APPDATA, 1859],
    [1, T.APPDATA, 951],
    [0, T.APPDATA, 3951],
    [1, T.APPDATA, 3658],
  ]);
  assert.deepEqual(msgs, [[0, 268 - 17 + 1859 - 17], [1, 934], [0, 3934], [1, 3641]]);
});

Deno.test("tls messages: TLS 1.2 (encrypted Finished after CCS)", () => {
  const msgs = collect([
    [0, T.HANDSHAKE, 220],
    [1, T.HANDSHAKE, 2400],
    [0, T.HANDSHAKE, 70],
    [0, T.CCS, 1],
    [0, T.HANDSHAKE, 40],
    [1, T.CCS, 1],
    [1, T.HANDSHAKE, 40],
    [0, T.APPDATA, 2000],
    [1, T.APPDATA, 700],
  ]);
  assert.deepEqual(msgs, [[0, 1976], [1, 676]]);
});
