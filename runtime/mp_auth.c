/*
** mp_auth.c — the managers' authentication, as Python's
** multiprocessing.connection: each side sends a random nonce and checks
** that the other answers with HMAC-SHA256(key, message). HMAC and random
** bytes come from libsodium; comparisons are constant-time.
**
** Pure code: the server's side is a state machine fed with bytes (many
** handshakes run from one poll loop, and the fuzzer drives it directly);
** the client's side, which waits on a socket, is in mgr_net_wire.c.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mgr_net.h"

#define CHALLENGE "#CHALLENGE#"
#define DIGEST "{sha256}"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define LIT(s) (sizeof(s) - 1)

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void) {
  if (sodium_init() < 0) {               /* only when /dev/urandom is unusable */
    fprintf(stderr, "gillua: libsodium cannot start (no random source)\n");
    abort();
  }
}

void mp_auth_random(void *buf, size_t n) {
  pthread_once(&sodium_once, sodium_start);
  randombytes_buf(buf, n);
}

void mp_auth_hmac(const void *key, size_t keylen, const void *msg, size_t n,
                  unsigned char out[MGR_MAC]) {
  pthread_once(&sodium_once, sodium_start);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, n);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
}

size_t mp_auth_challenge(const unsigned char nonce[MGR_NONCE], unsigned char *out) {
  memcpy(out, CHALLENGE DIGEST, LIT(CHALLENGE DIGEST));
  memcpy(out + LIT(CHALLENGE DIGEST), nonce, MGR_NONCE);
  return LIT(CHALLENGE DIGEST) + MGR_NONCE;
}

/* The answer is DIGEST + HMAC of the message after "#CHALLENGE#". */
int mp_auth_answer(const void *key, size_t keylen, const unsigned char *msg, size_t n,
                   unsigned char *out, size_t *outlen) {
  if (n != LIT(CHALLENGE DIGEST) + MGR_NONCE || memcmp(msg, CHALLENGE DIGEST, LIT(CHALLENGE DIGEST)) != 0)
    return -1;
  memcpy(out, DIGEST, LIT(DIGEST));
  mp_auth_hmac(key, keylen, msg + LIT(CHALLENGE), n - LIT(CHALLENGE), out + LIT(DIGEST));
  *outlen = LIT(DIGEST) + MGR_MAC;
  return 0;
}

int mp_auth_check(const void *key, size_t keylen, const unsigned char nonce[MGR_NONCE],
                  const unsigned char *resp, size_t n) {
  unsigned char msg[LIT(DIGEST) + MGR_NONCE], mac[MGR_MAC];
  if (n != LIT(DIGEST) + MGR_MAC || memcmp(resp, DIGEST, LIT(DIGEST)) != 0) return 0;
  memcpy(msg, DIGEST, LIT(DIGEST));
  memcpy(msg + LIT(DIGEST), nonce, MGR_NONCE);
  mp_auth_hmac(key, keylen, msg, sizeof msg, mac);
  return sodium_memcmp(mac, resp + LIT(DIGEST), MGR_MAC) == 0;
}

/* ---- the server's side ---- */

static void put_frame(AuthServer *h, const void *body, size_t n) {
  if (h->outlen + 4 + n > sizeof h->out) return;   /* cannot happen: three messages at most */
  mgr_frame_header(h->out + h->outlen, n);
  memcpy(h->out + h->outlen + 4, body, n);
  h->outlen += 4 + n;
}

static void fail(AuthServer *h, const char *why) {
  h->state = HS_FAILED;
  h->why = why;
}

void mp_auth_server_begin(AuthServer *h, const void *key, size_t keylen) {
  memset(h, 0, sizeof *h);
  h->key = (const unsigned char *)key;
  h->keylen = keylen;
  mp_auth_random(h->nonce, MGR_NONCE);
  unsigned char msg[LIT(CHALLENGE DIGEST) + MGR_NONCE];
  put_frame(h, msg, mp_auth_challenge(h->nonce, msg));
  h->state = HS_WAIT_RESPONSE;
}

/* One complete handshake message from the client. */
static void on_message(AuthServer *h, const unsigned char *m, size_t n) {
  switch (h->state) {
    case HS_WAIT_RESPONSE:
      if (!mp_auth_check(h->key, h->keylen, h->nonce, m, n)) {
        put_frame(h, FAILURE, LIT(FAILURE));
        fail(h, "authentication failed");
        return;
      }
      put_frame(h, WELCOME, LIT(WELCOME));
      h->state = HS_WAIT_CHALLENGE;
      return;
    case HS_WAIT_CHALLENGE: {
      unsigned char ans[LIT(DIGEST) + MGR_MAC];
      size_t alen;
      if (mp_auth_answer(h->key, h->keylen, m, n, ans, &alen) != 0) {
        fail(h, "no challenge from the client");
        return;
      }
      put_frame(h, ans, alen);
      h->state = HS_WAIT_VERDICT;
      return;
    }
    case HS_WAIT_VERDICT:
      if (n == LIT(WELCOME) && memcmp(m, WELCOME, n) == 0) h->state = HS_DONE;
      else fail(h, "the client refused the server's answer");
      return;
    default:
      return;
  }
}

size_t mp_auth_server_feed(AuthServer *h, const unsigned char *p, size_t n) {
  size_t used = 0;
  while (used < n && h->state != HS_DONE && h->state != HS_FAILED) {
    /* take bytes up to the end of the current frame, never beyond it */
    size_t want = 4;
    if (h->inlen >= 4) {
      const unsigned char *body;
      size_t blen, fl;
      if (mgr_frame_parse(h->in, h->inlen, MGR_HS_MAXFRAME, &body, &blen, &fl) == FRAME_TOOBIG) {
        fail(h, "handshake message too long");
        break;
      }
      want = 4 + ((size_t)h->in[0] << 24 | (size_t)h->in[1] << 16 | (size_t)h->in[2] << 8 | h->in[3]);
    }
    size_t k = want - h->inlen;
    if (k > n - used) k = n - used;
    memcpy(h->in + h->inlen, p + used, k);
    h->inlen += k;
    used += k;
    const unsigned char *body;
    size_t blen, fl;
    int r = mgr_frame_parse(h->in, h->inlen, MGR_HS_MAXFRAME, &body, &blen, &fl);
    if (r == FRAME_TOOBIG) { fail(h, "handshake message too long"); break; }
    if (r == FRAME_OK) {
      on_message(h, body, blen);
      h->inlen = 0;
    }
  }
  return used;
}
