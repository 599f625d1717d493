/**
 * A live libpcap capture handle (`pcap_t`).
 *
 * The packet loop is allocation-free: `pcap_next_ex` writes the header and
 * data addresses into two reused 8-byte out slots, read back as u32 halves;
 * the header (whose address never moves) is read through a `Uint32Array`
 * mapped once, and the data view is re-mapped only when libpcap's data
 * address changes or a packet is longer than the mapped size.
 *
 * `next` blocks for up to the read timeout: call it from a Worker (see
 * `src/capture/live_worker.ts`), never from the main thread. The timeout
 * must hold on an idle link too (so a stop request is seen), which libpcap's
 * own read timeout does not guarantee: on Linux with TPACKET_V3 a blocking
 * `pcap_next_ex` sleeps until a packet arrives, however long that takes. So on
 * Linux and macOS the handle is non-blocking and `next` waits in `poll(2)` on
 * the selectable descriptor for at most the timeout; Windows (Npcap, which
 * returns on its read timeout) keeps the blocking read.
 *
 * @example
 * ```ts ignore
 * const h = PcapHandle.open({ device: "eth0", filter: "tcp" });
 * while (h.next() >= 0) {
 *   if (h.header.capLen > 0) console.log(h.header.capLen, h.data[0]);
 * }
 * h.close();
 * ```
 *
 * @module
 */

import { CaptureDeviceError } from "./errors.ts";
import {
  BPF_PROGRAM_SIZE,
  PCAP_STAT,
  Pkthdr,
  pkthdrLayout,
  type PkthdrWords,
  pkthdrWords,
  readPkthdr,
} from "./layout.ts";
import { lastError, type Libc, libc, POLLIN } from "./libc.ts";
import { type Libpcap, libpcap, PCAP_ERRBUF_SIZE, type PcapOs } from "./libpcap.ts";
import {
  activateErrorMessage,
  activateWarningMessage,
  cText,
  filterErrorMessage,
  oneLine,
  PcapStatus,
} from "./messages.ts";

/** How to open a live capture. */
export interface PcapOpenOptions {
  /** Device name as listed by `listDevices` (`eth0`, `\Device\NPF_{...}`). */
  device: string;
  /** Name to use in error messages (e.g. the Npcap description); default `device`. */
  label?: string;
  /** Bytes kept per packet; default 65535. */
  snaplen?: number;
  /** Promiscuous mode; default true. */
  promisc?: boolean;
  /** Read timeout in milliseconds (how long `next` may block); default 50. */
  timeoutMs?: number;
  /** Kernel capture buffer in bytes; default 64 MiB. */
  bufferSize?: number;
  /** Immediate mode (deliver each packet at once, more wake-ups); default false. */
  immediate?: boolean;
  /** BPF filter expression (tcpdump syntax); default none. */
  filter?: string;
}

/** One classic BPF instruction (`struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k). */
export interface SockFilter {
  /** Opcode (class | size | mode, or class | op | source). */
  readonly code: number;
  /** Conditional jumps: instructions skipped when true. */
  readonly jt: number;
  /** Conditional jumps: instructions skipped when false. */
  readonly jf: number;
  /** Constant operand. */
  readonly k: number;
}

/** libpcap's counters (`pcap_stats`; 32-bit, they wrap). */
export interface PcapStats {
  /** Packets received (Linux: that passed the filter). */
  received: number;
  /** Packets dropped for lack of buffer space. */
  dropped: number;
  /** Packets dropped by the interface or driver (not all OSes count these). */
  ifDropped: number;
}

/** Default snapshot length. */
const DEFAULT_SNAPLEN = 65535;
/** Default read timeout (ms). */
export const DEFAULT_TIMEOUT_MS = 50;
/** Default kernel buffer size (bytes). */
const DEFAULT_BUFFER_SIZE = 64 * 1024 * 1024;

/** `LINKTYPE_RAW` (src/capture/raw_packet.ts `LinkType.RAW`), the value capture files use. */
const LINKTYPE_RAW = 101;

/** `PCAP_NETMASK_UNKNOWN`. */
const NETMASK_UNKNOWN = 0xffffffff;

/**
 * The LINKTYPE_* value for a DLT_* value (they differ for DLT_RAW, 12 or 14
 * depending on the OS, which is LINKTYPE_RAW 101 in files).
 */
function dltToLinkType(dlt: number): number {
  if (dlt === 12 || dlt === 14) return LINKTYPE_RAW;
  return dlt;
}

/**
 * How `next` waits on `os`: `"poll"` (non-blocking handle + `poll(2)` with the
 * timeout) or `"timeout"` (blocking read, trusting libpcap's read timeout).
 */
function waitStrategy(os: PcapOs): "poll" | "timeout" {
  return os === "windows" ? "timeout" : "poll";
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`);
}

/** One open live capture; owns the native `pcap_t` until {@linkcode PcapHandle.close}. */
export class PcapHandle {
  /** Device name. */
  readonly device: string;
  /** LINKTYPE_* of the frames. */
  readonly linkType: number;
  /** Snapshot length in effect (`pcap_snapshot`). */
  readonly snaplen: number;
  /** `pcap_activate` warning, if any (e.g. promiscuous mode unsupported). */
  readonly warning: string | undefined;
  /** The last packet's header, valid after {@linkcode next} returned 1. */
  readonly header: Pkthdr = new Pkthdr();
  /**
   * The last packet's bytes are `data[0 .. header.capLen)`: a view of
   * libpcap's memory, valid until the next call to `next` or `close`.
   */
  data: Uint8Array = new Uint8Array(0);
  /** Address of the last packet's bytes in memory (for `memcpy`), as a number. */
  dataAddress = 0;
  /**
   * Map `data` as a view of libpcap's memory (default). A caller that only
   * copies by address sets this to false: with TPACKET_V3 the data moves on
   * every packet, and a view would cost a pointer object and an
   * ArrayBuffer per packet.
   */
  mapViews = true;

  #lib: Libpcap;
  #pcap: Deno.PointerObject | null;
  #label: string;
  #words: PkthdrWords;
  #hdrSize: number;
  // Out slots of pcap_next_ex: [hdr lo, hdr hi, data lo, data hi].
  #slotBuffer = new ArrayBuffer(16);
  #slots = new Uint32Array(this.#slotBuffer);
  #hdrSlot: Deno.PointerObject;
  #dataSlot: Deno.PointerObject;
  #hdr: Uint32Array = new Uint32Array(0);
  #hdrLo = 0;
  #hdrHi = 0;
  #dataLo = 0;
  #dataHi = 0;
  #mapped = 0;
  #statBuf = new Uint32Array(PCAP_STAT.size / 4);
  #poll: Libc["poll"] = null;
  #pollFd = new Int32Array(new ArrayBuffer(8)); // struct pollfd { int fd; short events, revents; }
  #timeoutMs: number;

  private constructor(
    lib: Libpcap,
    pcap: Deno.PointerObject,
    device: string,
    label: string,
    warning: string | undefined,
    timeoutMs: number,
  ) {
    this.#lib = lib;
    this.#pcap = pcap;
    this.device = device;
    this.#label = label;
    this.warning = warning;
    this.linkType = dltToLinkType(lib.pcap_datalink(pcap));
    this.snaplen = lib.pcap_snapshot(pcap);
    const layout = pkthdrLayout(Deno.build.os);
    this.#words = pkthdrWords(layout);
    this.#hdrSize = layout.size;
    this.#hdrSlot = Deno.UnsafePointer.of(this.#slotBuffer)!;
    this.#dataSlot = Deno.UnsafePointer.offset(this.#hdrSlot, 8)!;
    this.#timeoutMs = timeoutMs;
    if (waitStrategy(Deno.build.os) === "poll") this.#setUpPoll(pcap);
  }

  #setUpPoll(pcap: Deno.PointerObject): void {
    const poll = libc()?.poll ?? null;
    const fd = this.#lib.pcap_get_selectable_fd?.(pcap) ?? -1;
    if (poll === null || fd < 0) return; // blocking read with libpcap's timeout
    if (this.#lib.pcap_setnonblock(pcap, 1, new Uint8Array(PCAP_ERRBUF_SIZE)) !== 0) return;
    this.#pollFd[0] = fd;
    new Int16Array(this.#pollFd.buffer)[2] = POLLIN;
    this.#poll = poll;
  }

  /**
   * Creates, configures and activates a capture on `opts.device`, then
   * applies `opts.filter`. Throws {@linkcode CaptureDeviceError} (exit code 2,
   * one line) when libpcap is missing, the device does not exist, permission
   * is denied or the filter is invalid.
   */
  static open(opts: PcapOpenOptions): PcapHandle {
    const lib = libpcap();
    const os = Deno.build.os;
    const label = opts.label ?? opts.device;
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const pcap = lib.pcap_create(cString(opts.device), errbuf);
    if (pcap === null) {
      const text = cText(errbuf);
      const code = /no such device|not found|doesn't exist/i.test(text)
        ? PcapStatus.ERROR_NO_SUCH_DEVICE
        : PcapStatus.ERROR;
      throw new CaptureDeviceError(activateErrorMessage(os, label, code, text));
    }
    lib.pcap_set_snaplen(pcap, opts.snaplen ?? DEFAULT_SNAPLEN);
    lib.pcap_set_promisc(pcap, opts.promisc === false ? 0 : 1);
    const timeoutMs = Math.max(1, Math.round(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    lib.pcap_set_timeout(pcap, timeoutMs);
    lib.pcap_set_buffer_size(pcap, opts.bufferSize ?? DEFAULT_BUFFER_SIZE);
    lib.pcap_set_immediate_mode(pcap, opts.immediate ? 1 : 0);
    const rc = lib.pcap_activate(pcap);
    if (rc < 0) {
      const text = PcapHandle.#errorText(lib, pcap, rc);
      lib.pcap_close(pcap);
      throw new CaptureDeviceError(activateErrorMessage(os, label, rc, text));
    }
    const warning = rc > 0
      ? activateWarningMessage(label, rc, PcapHandle.#errorText(lib, pcap, rc))
      : undefined;
    const handle = new PcapHandle(lib, pcap, opts.device, label, warning, timeoutMs);
    if (opts.filter !== undefined && opts.filter.trim() !== "") {
      try {
        handle.setFilter(opts.filter);
      } catch (err) {
        handle.close();
        throw err;
      }
    }
    return handle;
  }

  static #errorText(lib: Libpcap, pcap: Deno.PointerObject, code: number): string {
    const err = lib.pcap_geterr(pcap);
    const text = err === null ? "" : Deno.UnsafePointerView.getCString(err);
    if (text !== "") return text;
    const status = lib.pcap_statustostr(code);
    return status === null ? "" : Deno.UnsafePointerView.getCString(status);
  }

  /** True once {@linkcode close} ran. */
  get closed(): boolean {
    return this.#pcap === null;
  }

  /**
   * Installs a BPF filter (`pcap_compile` + `pcap_setfilter`). Throws
   * {@linkcode CaptureDeviceError} (exit code 2) with libpcap's reason.
   */
  setFilter(expr: string): void {
    const pcap = this.#live();
    const prog = new Uint8Array(BPF_PROGRAM_SIZE);
    if (this.#lib.pcap_compile(pcap, prog, cString(expr), 1, NETMASK_UNKNOWN) !== 0) {
      throw new CaptureDeviceError(filterErrorMessage(expr, this.#geterr()));
    }
    try {
      if (this.#lib.pcap_setfilter(pcap, prog) !== 0) {
        throw new CaptureDeviceError(filterErrorMessage(expr, this.#geterr()));
      }
    } finally {
      this.#lib.pcap_freecode(prog);
    }
  }

  /**
   * Waits for the next packet (at most the read timeout). Returns 1 with
   * {@linkcode header}, {@linkcode data} and {@linkcode dataAddress} set,
   * 0 on timeout, -2 when the handle is closed. Throws
   * {@linkcode CaptureDeviceError} with exit code
   * {@linkcode CAPTURE_FAULT_EXIT} when libpcap reports an error:
   * `capture device "x" went away: …` when the interface was deleted or
   * went down, `capture on device "x" failed: …` otherwise.
   */
  next(): number {
    const pcap = this.#pcap;
    if (pcap === null) return PcapStatus.ERROR_BREAK;
    let rc = this.#lib.pcap_next_ex(pcap, this.#hdrSlot, this.#dataSlot);
    if (rc === 0 && this.#poll !== null) {
      // Drained: sleep until readable or the timeout, then try once more.
      this.#poll(this.#pollFd, 1n, this.#timeoutMs);
      rc = this.#lib.pcap_next_ex(pcap, this.#hdrSlot, this.#dataSlot);
    }
    if (rc === 1) {
      const s = this.#slots;
      if (s[0] !== this.#hdrLo || s[1] !== this.#hdrHi) this.#mapHeader();
      const h = readPkthdr(this.#hdr, 0, this.#words, this.header);
      if (s[2] !== this.#dataLo || s[3] !== this.#dataHi || h.capLen > this.#mapped) {
        this.#mapData(h.capLen);
      }
      return 1;
    }
    if (rc === 0 || rc === PcapStatus.ERROR_BREAK) return rc;
    throw captureFault(this.#label, oneLine(this.#geterr()) || `error ${rc}`);
  }

  #mapHeader(): void {
    const s = this.#slots;
    this.#hdrLo = s[0];
    this.#hdrHi = s[1];
    const ptr = Deno.UnsafePointer.create((BigInt(s[1]) << 32n) | BigInt(s[0]))!;
    this.#hdr = new Uint32Array(Deno.UnsafePointerView.getArrayBuffer(ptr, this.#hdrSize));
  }

  #mapData(capLen: number): void {
    const s = this.#slots;
    this.#dataLo = s[2];
    this.#dataHi = s[3];
    this.dataAddress = s[3] * 4294967296 + s[2];
    if (!this.mapViews) return;
    this.#mapped = Math.max(capLen, this.snaplen);
    const ptr = Deno.UnsafePointer.create(BigInt(this.dataAddress))!;
    this.data = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, this.#mapped));
  }

  /** libpcap's counters now. Throws {@linkcode CaptureDeviceError} if unavailable. */
  stats(): PcapStats {
    const pcap = this.#live();
    const buf = this.#statBuf;
    if (this.#lib.pcap_stats(pcap, buf) !== 0) {
      throw new CaptureDeviceError(
        `Cannot read capture statistics of "${this.#label}": ${oneLine(this.#geterr())}`,
      );
    }
    return {
      received: buf[PCAP_STAT.recv],
      dropped: buf[PCAP_STAT.drop],
      ifDropped: buf[PCAP_STAT.ifdrop],
    };
  }

  /**
   * Joins the capture's packet socket to a kernel fanout group (Linux
   * PACKET_FANOUT, see packet(7)): the sockets of one group on one device
   * share its packets, each packet going to one member, the member
   * `program`'s return value modulo the number of members
   * (PACKET_FANOUT_CBPF). PACKET_FANOUT_FLAG_DEFRAG is on: the kernel
   * reassembles IPv4 fragments before choosing, so a datagram's fragments
   * reach one member whole. The program is the group's (any member may set
   * it; each member sets the same one here).
   *
   * `group` "new" creates a new group whose id the kernel picks, unused in
   * this network namespace (PACKET_FANOUT_FLAG_UNIQUEID); a number 0–65,535
   * joins that group (created by its first member). Returns the group id. The socket
   * must be bound, i.e. the handle active, as after {@linkcode open}.
   *
   * Throws {@linkcode CaptureDeviceError} (exit code 2, one line) when the OS
   * has no packet fanout (not Linux; a kernel older than 4.3 lacks
   * PACKET_FANOUT_CBPF), when the group exists with other settings or
   * another device, or when the kernel refuses the program.
   */
  joinFanout(group: number | "new", program: readonly SockFilter[]): number {
    const pcap = this.#live();
    const what = `Cannot share capture on "${this.#label}" between workers`;
    if (Deno.build.os !== "linux") {
      throw new CaptureDeviceError(
        `${what}: packet fanout needs Linux (PACKET_FANOUT); use one worker on ${Deno.build.os}`,
      );
    }
    const c = libc();
    const fd = this.#lib.pcap_fileno?.(pcap) ?? -1;
    if (c === null || c.setsockopt === null || c.getsockopt === null || fd < 0) {
      throw new CaptureDeviceError(
        `${what}: the C library or libpcap lacks setsockopt/pcap_fileno`,
      );
    }
    const id0 = group === "new" ? 0 : group & 0xffff;
    const flags = FANOUT_CBPF | FANOUT_FLAG_DEFRAG | (group === "new" ? FANOUT_FLAG_UNIQUEID : 0);
    const arg = new Int32Array([(id0 | (flags << 16)) | 0]);
    if (c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, arg, 4) !== 0) {
      throw new CaptureDeviceError(`${what}: ${fanoutJoinReason(group, lastError(c))}`);
    }
    let id = id0;
    if (group === "new") {
      const len = new Uint32Array([4]);
      if (c.getsockopt(fd, SOL_PACKET, PACKET_FANOUT, arg, len) !== 0) {
        throw new CaptureDeviceError(`${what}: reading the group id: ${lastError(c).text}`);
      }
      id = arg[0] & 0xffff;
    }
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 B on LP64).
    const insns = new ArrayBuffer(program.length * 8);
    const code = new Uint16Array(insns), bytes = new Uint8Array(insns), k = new Uint32Array(insns);
    program.forEach((insn, i) => {
      code[i * 4] = insn.code;
      bytes[i * 8 + 2] = insn.jt;
      bytes[i * 8 + 3] = insn.jf;
      k[i * 2 + 1] = insn.k >>> 0;
    });
    const fprog = new ArrayBuffer(16);
    new Uint16Array(fprog)[0] = program.length;
    new BigUint64Array(fprog)[1] = Deno.UnsafePointer.value(Deno.UnsafePointer.of(insns));
    if (c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, new Uint8Array(fprog), 16) !== 0) {
      const err = lastError(c);
      throw new CaptureDeviceError(
        `${what}: the kernel refused the fanout program (PACKET_FANOUT_DATA: ${err.text})`,
      );
    }
    return id;
  }

  /** Closes the native handle; views from `data` become invalid. Safe to call twice. */
  close(): void {
    const pcap = this.#pcap;
    if (pcap === null) return;
    this.#pcap = null;
    this.data = new Uint8Array(0);
    this.#hdr = new Uint32Array(0);
    this.#hdrLo = 0;
    this.#hdrHi = 0;
    this.#dataLo = 0;
    this.#dataHi = 0;
    this.#mapped = 0;
    this.#lib.pcap_close(pcap);
  }

  #live(): Deno.PointerObject {
    if (this.#pcap === null) {
      throw new CaptureDeviceError(`Capture on device "${this.#label}" is closed`);
    }
    return this.#pcap;
  }

  #geterr(): string {
    const err = this.#pcap === null ? null : this.#lib.pcap_geterr(this.#pcap);
    return err === null ? "" : Deno.UnsafePointerView.getCString(err);
  }
}

/** `SOL_PACKET` (linux/socket.h). */
const SOL_PACKET = 263;
/** `PACKET_FANOUT` (linux/if_packet.h): join a group; the value is `id | type_flags << 16`. */
const PACKET_FANOUT = 18;
/** `PACKET_FANOUT_DATA`: the group's program (a `struct sock_fprog`), after joining. */
const PACKET_FANOUT_DATA = 22;
/** `PACKET_FANOUT_CBPF`: a classic BPF program chooses the member. */
const FANOUT_CBPF = 6;
/** `PACKET_FANOUT_FLAG_UNIQUEID`: the kernel picks a new group id (id given as 0). */
const FANOUT_FLAG_UNIQUEID = 0x2000;
/** `PACKET_FANOUT_FLAG_DEFRAG`: reassemble IPv4 fragments before choosing. */
const FANOUT_FLAG_DEFRAG = 0x8000;
/** errno values the fanout join explains. */
const ENOPROTOOPT = 92, EINVAL = 22, EALREADY = 114, ENOSPC = 28;

/** Why `setsockopt(PACKET_FANOUT)` failed, in words. */
function fanoutJoinReason(group: number | "new", err: { code: number; text: string }): string {
  switch (err.code) {
    case ENOPROTOOPT:
      return "this kernel has no packet fanout (PACKET_FANOUT); use one worker";
    case EINVAL:
      return group === "new"
        ? "this kernel does not take a classic BPF fanout program " +
          "(PACKET_FANOUT_CBPF, Linux 4.3 or later); use one worker"
        : `fanout group ${group} exists with other settings or on another device`;
    case EALREADY:
      return "the socket is already in a fanout group";
    case ENOSPC:
      return `fanout group ${group} is full`;
    default:
      return `PACKET_FANOUT: ${err.text || `error ${err.code}`}`;
  }
}

/** Exit code of a capture that failed after it started (e.g. the device went away). */
export const CAPTURE_FAULT_EXIT = 3;

/** libpcap's reasons for a device that was deleted or went down (Linux, BSD, macOS). */
const DEVICE_GONE = /disappeared|went down|no such device|network is down|device not configured/i;

/** The one-line error of a read that failed after the capture started. */
function captureFault(label: string, reason: string): CaptureDeviceError {
  return new CaptureDeviceError(
    DEVICE_GONE.test(reason)
      ? `capture device "${label}" went away: ${reason}`
      : `capture on device "${label}" failed: ${reason}`,
    CAPTURE_FAULT_EXIT,
  );
}
