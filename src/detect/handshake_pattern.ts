/**
 * SoftEther's connection set-up as seen from outside the encryption: a
 * strict alternation of application messages right after the TLS handshake.
 *
 * | # | dir | SoftEther message                                  |
 * |---|-----|----------------------------------------------------|
 * | 1 | C→S | `POST /vpnsvc/connect.cgi`: 1,411-byte GIF watermark + 0–1,999 random bytes |
 * | 2 | S→C | hello Pack (random 20 B + 0–999 B random padding)   |
 * | 3 | C→S | login Pack, or additional_connect / admin login     |
 * | 4 | S→C | welcome Pack, or an error Pack then close           |
 * | 5 | both| tunnel: keep-alives (8–519 B) and Ethernet frames    |
 *
 * The matcher is pure: it is fed message sizes (plaintext estimates, after
 * the TLS record overhead) and says which stage the connection reached.
 * Ranges come from the protocol (fixed watermark size, bounded random
 * padding, Pack field sets) with slack for HTTP headers that carry the host
 * name and for TLS record overhead estimates; they are not fitted to one
 * capture.
 *
 * @module
 */

/** Inclusive byte range. */
export interface Range {
  /** Lowest size. */
  min: number;
  /** Highest size. */
  max: number;
}

/** Size ranges of the set-up messages (plaintext bytes, HTTP header included). */
export const SIZES = {
  /** 1: watermark POST: 1,411 + 0..1,999 random + an HTTP header of ~110–400 B. */
  watermark: { min: 1411 + 100, max: 1411 + 1999 + 500 },
  /** 2: hello: HTTP header + Pack {hello, version, build, random(20), pencore(0..999)}. */
  hello: { min: 200, max: 1600 },
  /** 3: a VPN login Pack (method=login, client and node information, pencore). */
  login: { min: 1800, max: 6500 },
  /** 3: additional_connect / admin login: a short Pack with a session key or password hash. */
  shortRequest: { min: 150, max: 1750 },
  /** 4: welcome Pack (session name, policy, keys, pencore). */
  welcome: { min: 1400, max: 8000 },
  /** 4: an answer to additional_connect / admin login, or an error Pack. */
  shortReply: { min: 60, max: 1500 },
  /** Tunnel keep-alive: FF FF FF FF, u32 n, n = 0..511 random bytes (+ block header). */
  keepAlive: { min: 8, max: 560 },
} as const satisfies Record<string, Range>;

/**
 * No set-up message — even one joined from parts split by a pause — is
 * larger than this (the welcome is the largest): a bigger message before
 * the set-up completed ends the match at once, without waiting for it to end.
 */
export const SETUP_MESSAGE_MAX: number = SIZES.welcome.max;

/** True when `n` is inside `r`. */
export function inRange(n: number, r: Range): boolean {
  return n >= r.min && n <= r.max;
}

/** How far a connection's message sequence matches SoftEther's set-up. */
export const Stage = {
  /** Not (yet) anything. */
  NONE: 0,
  /** Message 1 matched. */
  WATERMARK: 1,
  /** Messages 1–2 matched. */
  HELLO: 2,
  /** Messages 1–3 matched, message 3 login-sized. */
  LOGIN: 3,
  /** Messages 1–3 matched, message 3 short (additional connection or admin). */
  SHORT_REQUEST: 4,
  /** Login answered with a welcome: a VPN session is being set up. */
  WELCOME: 5,
  /** Short request answered with a short reply: additional connection or admin. */
  SHORT_REPLY: 6,
  /** Login answered with a short reply: failed login (error Pack). */
  LOGIN_REFUSED: 7,
  /** The sequence broke the pattern: not SoftEther. */
  MISMATCH: 8,
} as const;

/**
 * Advance the stage by one complete message of `size` bytes in direction
 * `dir` (0 client→server). Messages after stage 4 are tunnel traffic and do
 * not change the stage (the caller inspects them).
 */
export function advance(stage: number, dir: number, size: number): number {
  switch (stage) {
    case Stage.NONE:
      return dir === 0 && inRange(size, SIZES.watermark) ? Stage.WATERMARK : Stage.MISMATCH;
    case Stage.WATERMARK:
      return dir === 1 && inRange(size, SIZES.hello) ? Stage.HELLO : Stage.MISMATCH;
    case Stage.HELLO:
      if (dir !== 0) return Stage.MISMATCH;
      if (inRange(size, SIZES.login)) return Stage.LOGIN;
      return inRange(size, SIZES.shortRequest) ? Stage.SHORT_REQUEST : Stage.MISMATCH;
    case Stage.LOGIN:
      if (dir !== 1) return Stage.MISMATCH;
      if (inRange(size, SIZES.welcome)) return Stage.WELCOME;
      return inRange(size, SIZES.shortReply) ? Stage.LOGIN_REFUSED : Stage.MISMATCH;
    case Stage.SHORT_REQUEST:
      return dir === 1 && inRange(size, SIZES.shortReply) ? Stage.SHORT_REPLY : Stage.MISMATCH;
    default:
      return stage;
  }
}

/**
 * Seconds after the welcome (or reply) to decide when no further record came:
 * below 1 s so that, with timers checked on packets or every 0.2 s live, the
 * alert is out within 1 s of the welcome.
 */
export const DECISION_DELAY = 0.8;

/**
 * Seconds after the welcome within which both sides start the tunnel (each
 * sends its keep-alive at once): the decision delay, stretched on paths
 * whose round trip `rtt` (from the TCP handshake; 0 unknown) is long.
 */
export function tunnelStartDelay(rtt: number): number {
  return Math.max(DECISION_DELAY, 1.5 * rtt);
}

/** A server answer this large right after a client request is an RPC reply, not tunnel traffic. */
export const RPC_BIG_REPLY = 1700;

/**
 * Administration (vpncmd, server manager) after a short login is RPC: server
 * messages answer client requests, and some answers are larger than any
 * keep-alive or single Ethernet frame.
 */
export function looksLikeAdminRpc(replies: number, bigReplies: number): boolean {
  return replies >= 2 && bigReplies >= 1;
}
