/*
** mgr_net_frame.c — the frame format of multiprocessing.managers over
** TCP: a 4-byte big-endian length, then that many bytes. Pure code (no
** sockets, no Lua), shared by the server, the client and the fuzzer.
*/
#include "mgr_net.h"

int mgr_frame_parse(const unsigned char *buf, size_t len, size_t max,
                    const unsigned char **body, size_t *blen, size_t *used) {
  if (len < 4) return FRAME_MORE;
  uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
  if (n > max) return FRAME_TOOBIG;      /* told before a byte of it is awaited */
  if (len - 4 < n) return FRAME_MORE;
  *body = buf + 4;
  *blen = n;
  *used = 4 + (size_t)n;
  return FRAME_OK;
}

void mgr_frame_header(unsigned char hdr[4], size_t len) {
  hdr[0] = (unsigned char)(len >> 24);
  hdr[1] = (unsigned char)(len >> 16);
  hdr[2] = (unsigned char)(len >> 8);
  hdr[3] = (unsigned char)len;
}
