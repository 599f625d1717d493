/*
 * Packet blaster for the sealert live benchmark (tests/bench/live_bench.ts).
 *
 *   blast IFNAME PPS SECONDS SIZE FLOWS [KIND] [HOSTS]
 *
 * Sends Ethernet/IPv4 frames of SIZE bytes on IFNAME through an AF_PACKET
 * socket (PACKET_QDISC_BYPASS, sendmmsg batches of 64) at PPS packets per
 * second (0: as fast as possible) for SECONDS. KIND "udp" (default): UDP
 * datagrams; "tcp": TCP ACK segments (payload when SIZE allows). Flows vary
 * over FLOWS distinct 5-tuples (source address and port): by default 4,096
 * ports per source address; with HOSTS, spread over HOSTS source addresses
 * (flow k from 10.98.(k % HOSTS) as a 16-bit host number, port 1024 + k / HOSTS),
 * so that an address-pair fanout has many pairs to share. The destination
 * MAC is not the peer's, so the receiving stack drops the frames at once
 * (a promiscuous capture still sees them). Prints
 * "sent SECONDS_ELAPSED" on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void ip_checksum(uint8_t *ip) {
  uint32_t sum = 0;
  ip[10] = ip[11] = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  sum = ~sum & 0xffff;
  ip[10] = (uint8_t)(sum >> 8);
  ip[11] = (uint8_t)sum;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: blast IFNAME PPS SECONDS SIZE FLOWS [udp|tcp] [HOSTS]\n");
    return 2;
  }
  const char *ifname = argv[1];
  double pps = atof(argv[2]);
  double seconds = atof(argv[3]);
  int size = atoi(argv[4]);
  unsigned flows = (unsigned)atoi(argv[5]);
  int tcp = argc > 6 && strcmp(argv[6], "tcp") == 0;
  unsigned hosts = argc > 7 ? (unsigned)atoi(argv[7]) : 0;
  if (hosts > 65536) hosts = 65536;
  if (size < 60) size = 60;
  if (size > 1514) size = 1514;
  if (flows < 1) flows = 1;

  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  int sndbuf = 16 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(ifname);
  sll.sll_protocol = htons(ETH_P_ALL);
  if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    perror("bind");
    return 1;
  }

  static uint8_t frames[BATCH][1514];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    uint8_t *f = frames[i];
    memset(f, 0, sizeof frames[i]);
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x99}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    int iplen = size - 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    ip[16] = 10, ip[17] = 99, ip[18] = 0, ip[19] = 2;
    uint8_t *l4 = ip + 20;
    if (tcp) {
      l4[2] = 0x01, l4[3] = 0xbb; /* 443 */
      l4[12] = 5 << 4;
      l4[13] = 0x10; /* ACK */
      l4[14] = 0x01, l4[15] = 0xf6;
    } else {
      int ulen = iplen - 20;
      l4[2] = 0x30, l4[3] = 0x39; /* 12345 */
      l4[4] = (uint8_t)(ulen >> 8);
      l4[5] = (uint8_t)ulen;
    }
    for (int j = 14 + 20 + (tcp ? 20 : 8); j < size; j++) f[j] = (uint8_t)(j * 7 + i);
    iov[i].iov_base = f;
    iov[i].iov_len = (size_t)size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  unsigned long sent = 0, seq = 0;
  double start = now(), t = start;
  while (t - start < seconds) {
    if (pps > 0) {
      double due = (t - start) * pps;
      if ((double)sent >= due) {
        /* Ahead of schedule: wait for the next batch's time. */
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
        t = now();
        continue;
      }
    }
    for (int i = 0; i < BATCH; i++) {
      unsigned k = (unsigned)(seq++ % flows);
      uint8_t *ip = frames[i] + 14;
      unsigned host = k >> 12, port = 1024 + (k & 0xfff);
      if (hosts > 0) host = k % hosts, port = 1024 + (k / hosts) % 64000;
      ip[12] = 10, ip[13] = 98, ip[14] = (uint8_t)(host >> 8), ip[15] = (uint8_t)host;
      ip[20] = (uint8_t)(port >> 8), ip[21] = (uint8_t)port;
      ip[4] = (uint8_t)(seq >> 8), ip[5] = (uint8_t)seq;
      if (tcp) {
        uint32_t s = (uint32_t)(seq * 1448);
        ip[24] = (uint8_t)(s >> 24), ip[25] = (uint8_t)(s >> 16), ip[26] = (uint8_t)(s >> 8),
        ip[27] = (uint8_t)s;
      }
      ip_checksum(ip);
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
        t = now();
        continue;
      }
      perror("sendmmsg");
      return 1;
    }
    sent += (unsigned long)n;
    t = now();
  }
  printf("%lu %.6f\n", sent, now() - start);
  close(fd);
  return 0;
}
