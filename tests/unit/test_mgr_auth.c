/*
** test_mgr_auth.c — the managers' frames and handshake (runtime/
** mgr_net_frame.c, runtime/mp_auth.c) without sockets: a server state
** machine fed by a client built from the pure helpers, byte by byte and
** in one piece; wrong keys both ways; a frame over the limit; bytes after
** the handshake left for the first request.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mgr_net.h"

static void test_frames(void **state) {
  (void)state;
  unsigned char buf[16];
  const unsigned char *body;
  size_t blen, used;
  mgr_frame_header(buf, 3);
  memcpy(buf + 4, "abcXY", 5);
  for (size_t n = 0; n < 7; n++)
    assert_int_equal(mgr_frame_parse(buf, n, 100, &body, &blen, &used), FRAME_MORE);
  assert_int_equal(mgr_frame_parse(buf, 9, 100, &body, &blen, &used), FRAME_OK);
  assert_int_equal(blen, 3);
  assert_int_equal(used, 7);
  assert_memory_equal(body, "abc", 3);
  assert_int_equal(mgr_frame_parse(buf, 4, 2, &body, &blen, &used), FRAME_TOOBIG);
  mgr_frame_header(buf, 0xffffffffu);
  assert_int_equal(mgr_frame_parse(buf, 4, MGR_MAXFRAME, &body, &blen, &used), FRAME_TOOBIG);
}

/* Takes the next frame out of h->out (what the server sent). */
static size_t next_out(AuthServer *h, size_t *off, unsigned char *msg) {
  const unsigned char *body;
  size_t blen, used;
  assert_int_equal(mgr_frame_parse(h->out + *off, h->outlen - *off, MGR_HS_MAXFRAME, &body, &blen, &used), FRAME_OK);
  memcpy(msg, body, blen);
  *off += used;
  return blen;
}

static size_t frame(unsigned char *out, const void *body, size_t n) {
  mgr_frame_header(out, n);
  memcpy(out + 4, body, n);
  return n + 4;
}

/* Feeds p[0..n) in pieces of 'step' bytes; returns the bytes consumed. */
static size_t feed(AuthServer *h, const unsigned char *p, size_t n, size_t step) {
  size_t used = 0;
  while (used < n) {
    size_t k = n - used < step ? n - used : step;
    size_t u = mp_auth_server_feed(h, p + used, k);
    used += u;
    if (u < k) break;
  }
  return used;
}

/* A whole handshake: client key ck against server key sk. */
static int handshake(const char *sk, const char *ck, size_t step, int *client_ok) {
  AuthServer h;
  mp_auth_server_begin(&h, sk, strlen(sk));
  size_t off = 0;
  unsigned char msg[MGR_HS_MAXFRAME], wire[512], ans[64];
  size_t n = next_out(&h, &off, msg), alen;
  assert_int_equal(mp_auth_answer(ck, strlen(ck), msg, n, ans, &alen), 0);
  size_t w = frame(wire, ans, alen);
  assert_int_equal(feed(&h, wire, w, step), w);
  n = next_out(&h, &off, msg);
  if (h.state == HS_FAILED) {
    assert_memory_equal(msg, "#FAILURE#", 9);
    return HS_FAILED;
  }
  assert_memory_equal(msg, "#WELCOME#", 9);
  unsigned char nonce[MGR_NONCE];
  mp_auth_random(nonce, sizeof nonce);
  unsigned char ch[64];
  size_t chl = mp_auth_challenge(nonce, ch);
  w = frame(wire, ch, chl);
  assert_int_equal(feed(&h, wire, w, step), w);
  n = next_out(&h, &off, msg);
  *client_ok = mp_auth_check(ck, strlen(ck), nonce, msg, n);
  w = frame(wire, *client_ok ? "#WELCOME#" : "#FAILURE#", 9);
  memcpy(wire + w, "REQ", 3);                /* the first request follows at once */
  size_t u = feed(&h, wire, w + 3, step);
  assert_int_equal(u, w);                    /* ...and is not consumed */
  return h.state;
}

static void test_handshake(void **state) {
  (void)state;
  int ok = 0;
  assert_int_equal(handshake("key", "key", 1000, &ok), HS_DONE);
  assert_true(ok);
  assert_int_equal(handshake("key", "key", 1, &ok), HS_DONE);   /* byte by byte */
  assert_int_equal(handshake("key", "kex", 7, &ok), HS_FAILED);
}

static void test_garbage(void **state) {
  (void)state;
  AuthServer h;
  mp_auth_server_begin(&h, "k", 1);
  const unsigned char junk[] = "\xff\xff\xff\xffjunk";
  mp_auth_server_feed(&h, junk, sizeof junk - 1);
  assert_int_equal(h.state, HS_FAILED);
  mp_auth_server_begin(&h, "k", 1);
  unsigned char wire[64];
  size_t w = frame(wire, "{sha256}short", 13);
  mp_auth_server_feed(&h, wire, w);
  assert_int_equal(h.state, HS_FAILED);
  assert_string_equal(h.why, "authentication failed");
  /* not a challenge where one is due */
  unsigned char bad[40];
  memset(bad, 'x', sizeof bad);
  assert_int_equal(mp_auth_answer("k", 1, bad, sizeof bad, bad, &(size_t){0}), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_frames),
    cmocka_unit_test(test_handshake),
    cmocka_unit_test(test_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
