/*
** mp_mgr_client.c — a Manager's requests, from any process: the request
** goes on the manager's channel, the reply comes back in a reply box in
** the arena (the wire format and the box's two references: mp_manager.h).
**
** Waiting for a reply releases the GIL; every 50 ms the client checks that
** the server is alive (a dead server raises instead of hanging).
*/
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp_manager.h"

static int server_alive(MgrShared *m) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) return 0;
  if (getpid() == m->creator) {
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_PID, (id_t)m->server, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == m->server)
      return 0;
    return 1;
  }
  return mp_pid_alive(m->server);
}

/* Waits for the reply (GIL released). 0, EINTR, ESRCH (server gone),
** ETIMEDOUT. */
static int wait_reply(MgrShared *m, MgrReply *box, const struct timespec *dl) {
  for (int i = 0; i < 200; i++) {
    if (__atomic_load_n(&box->done, __ATOMIC_ACQUIRE)) return 0;
    if ((i & 7) == 7) sched_yield();
  }
  int rc = 0;
  gl_block_begin();
  for (;;) {
    uint32_t s = __atomic_load_n(&box->seq, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&box->done, __ATOMIC_ACQUIRE)) break;
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(dl)) { rc = ETIMEDOUT; break; }
    if (!server_alive(m)) {
      rc = __atomic_load_n(&box->done, __ATOMIC_ACQUIRE) ? 0 : ESRCH;
      break;
    }
    mp_futex_wait(&box->seq, s, dl);
  }
  gl_block_end();
  return rc;
}

void mp_mgr_box_release(MgrReply *box) {
  if (!mp_shm_unref(box)) return;
  void *msg = mp_shm_ptr(box->msg);
  if (msg) mp_shm_decref(msg);
  mp_shm_free(box);
}

/* The ledger's release of a box whose client died: the client's
** reference, and the server's when it was taken and no request carries
** it yet (each told by one store). */
static void box_lost(void *p) {
  MgrReply *box = (MgrReply *)p;
  int server = __atomic_load_n(&box->server_ref, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&box->sent, __ATOMIC_ACQUIRE);
  int client = __atomic_exchange_n(&box->client_ref, 0, __ATOMIC_ACQ_REL);
  if (server) mp_mgr_box_release(box);
  if (client) mp_mgr_box_release(box);
}

/* A new reply box with its two references (see mp_manager.h), ours and
** the server's, under one ledger entry (box_lost, made by the allocator)
** until our reference is dropped: a client killed at any point gives the
** box back. */
MgrReply *mp_mgr_new_box(void) {
  MgrReply *box = (MgrReply *)mp_shm_alloc_owned(sizeof(MgrReply), box_lost);
  if (box == NULL) return NULL;
  memset(box, 0, sizeof *box);
  box->client_ref = 1;
  mp_shm_incref(box);
  __atomic_store_n(&box->server_ref, 1, __ATOMIC_RELEASE);
  return box;
}

/* Our reference: taken back from the box by one exchange, dropped, and
** only then the ledger entry removed (an entry left on a box freed since
** is ignored: mp_ledger.c), so that no death falls between the entry
** going and the reference going. */
void mp_mgr_drop_box(MgrReply *box) {
  uint64_t gen = mp_shm_gen(box);
  void *entry = box;
  if (__atomic_exchange_n(&box->client_ref, 0, __ATOMIC_ACQ_REL)) mp_mgr_box_release(box);
  mp_ledger_remove_gen(entry, gen);
}

void mp_mgr_drop_box_unsent(MgrReply *box) {   /* the request never left */
  __atomic_store_n(&box->server_ref, 0, __ATOMIC_RELEASE);
  mp_mgr_box_release(box);                     /* the server's */
  mp_mgr_drop_box(box);
}

int mp_mgr_request(lua_State *L, MgrShared *m, uint32_t id, int op, int first, int n,
                   const struct timespec *dl) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE))
    return luaL_error(L, "the Manager has been shut down");
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  if (n > 0 && tr_encode_opts(L, first, n, "value", TR_ENC_NOOBJ, &b, err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  MgrReply *box = mp_mgr_new_box();
  if (box == NULL) {
    mp_encoded_done(&b);
    return mp_raise_exhausted(L, "Manager", sizeof(MgrReply));
  }
  unsigned char hdr[13];
  uint64_t off = mp_shm_off(box);
  memcpy(hdr, &off, 8);
  memcpy(hdr + 8, &id, 4);
  hdr[12] = (unsigned char)op;
  int rc = mp_chan_put_handing(m->req, hdr, 13, b.data, b.len, 1, NULL, &box->sent);
  mp_encoded_done(&b);
  if (rc) { mp_mgr_drop_box_unsent(box); return luaL_error(L, "Manager: cannot send the request (%s)", strerror(rc)); }
  rc = wait_reply(m, box, dl);
  if (rc) {                      /* the server (if alive) still drops its reference */
    mp_mgr_drop_box(box);
    if (rc == EINTR) return gl_raise_interrupt(L);
    if (rc == ESRCH) return luaL_error(L, "the Manager's server process (%d) is gone", (int)m->server);
    return luaL_error(L, "the Manager did not answer in time");
  }
  int ok = box->ok;
  void *msg = mp_shm_ptr(box->msg);
  size_t len = (size_t)box->len;
  int top = lua_gettop(L);
  int k = msg ? (len ? tr_decode(L, msg, len, err, sizeof err) : 0) : -1;
  mp_mgr_drop_box(box);          /* frees the reply bytes too, if last */
  if (k < 0) return luaL_error(L, "Manager: bad reply: %s", msg ? err : "server out of memory");
  if (!ok) {
    lua_settop(L, top + 1);
    return lua_error(L);
  }
  return k;
}
