/*
** mgr_net.h — multiprocessing.managers over TCP: the wire (frames on a
** socket), the authentication (mp_auth.c), the server (mgr_net_server.c,
** mgr_net_objects.c) and the client (mgr_net_client.c, mgr_net_proxy.c).
**
** Wire: every message is a frame, a 4-byte big-endian length and that
** many bytes. Before authentication frames are at most MGR_HS_MAXFRAME
** bytes and the whole handshake must end within the handshake timeout;
** after it at most MGR_MAXFRAME, and a frame once begun must be complete
** within MGR_FRAME_TIMEOUT seconds. Nothing is decoded before both sides
** have proved they know the key.
**
** Handshake (Python's multiprocessing.connection, both directions):
**   server -> "#CHALLENGE#{sha256}" + 32 random bytes
**   client -> "{sha256}" + HMAC-SHA256(key, "{sha256}" + nonce)
**   server -> "#WELCOME#" or "#FAILURE#" (and closes)
**   then the same with the roles swapped, the client challenging.
**
** Request: transfer(op, id, name, drops, args...); reply: transfer(true,
** results...) or transfer(false, message, traceback [, error name]).
*/
#ifndef mgr_net_h
#define mgr_net_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MGR_MAXFRAME (64u << 20)     /* bytes of one message after authentication */
#define MGR_HS_MAXFRAME 256          /* bytes of one handshake message */
#define MGR_FRAME_TIMEOUT 30.0       /* s for the rest of a frame once begun */
#define MGR_HS_TIMEOUT 5.0           /* s for the whole handshake (default) */
#define MGR_NONCE 32
#define MGR_MAC 32

/* ---- frames (mgr_net_wire.c) ---- */

/* What mgr_frame_parse found at the start of buf[0..len). */
enum { FRAME_MORE = 0, FRAME_OK = 1, FRAME_TOOBIG = -1 };

/* Pure: a complete frame of at most 'max' bytes at buf? On FRAME_OK sets
** *body, *blen and *used (header + body). Never reads past len. */
int mgr_frame_parse(const unsigned char *buf, size_t len, size_t max,
                    const unsigned char **body, size_t *blen, size_t *used);
void mgr_frame_header(unsigned char hdr[4], size_t len);

/* A non-blocking socket with buffered input. Owned by one thread at a
** time (the handler thread, or the client thread that took it from its
** manager's pool). */
typedef struct NetConn {
  int fd;
  unsigned char *in;         /* buffered input in[start..end) */
  size_t start, end, cap;
} NetConn;

void nc_init(NetConn *c, int fd);
void nc_close(NetConn *c);   /* closes fd, frees the buffer */
/* Appends bytes to the input buffer (what the handshake read too far). */
int nc_push_input(NetConn *c, const unsigned char *p, size_t n);

/* Reads one frame of at most 'max' bytes, the GIL released while it
** waits. first: deadline for its first byte (NULL: none); the rest must
** follow within 'rest' s. *body points into c's buffer, valid until the
** next read. Returns 0, ECONNRESET (closed), EMSGSIZE (over max),
** ETIMEDOUT, EINTR (Ctrl-C in the main thread) or an errno. */
int nc_read_frame(NetConn *c, size_t max, const struct timespec *first, double rest,
                  const unsigned char **body, size_t *len);

/* Writes one frame (GIL released while the socket is full). Returns 0,
** EPIPE/ECONNRESET, ETIMEDOUT (deadline), EINTR or an errno. */
int nc_write_frame(NetConn *c, const void *body, size_t len, const struct timespec *dl);

/* ---- authentication (mp_auth.c) ---- */

/* HMAC-SHA256 (libsodium) of msg under key. */
void mp_auth_hmac(const void *key, size_t keylen, const void *msg, size_t n,
                  unsigned char out[MGR_MAC]);
void mp_auth_random(void *buf, size_t n);

enum { HS_WAIT_RESPONSE, HS_WAIT_CHALLENGE, HS_WAIT_VERDICT, HS_DONE, HS_FAILED };

/* The server's side of the handshake as a state machine fed with bytes,
** so the server can run many at once from one poll loop (and the fuzzer
** can drive it without sockets). */
typedef struct AuthServer {
  int state;
  const char *why;           /* set when FAILED */
  const unsigned char *key;
  size_t keylen;
  unsigned char nonce[MGR_NONCE];
  unsigned char in[4 + MGR_HS_MAXFRAME];
  size_t inlen;
  unsigned char out[3 * (4 + MGR_HS_MAXFRAME)];   /* to send */
  size_t outlen;
} AuthServer;

/* Starts: the challenge is in h->out. */
void mp_auth_server_begin(AuthServer *h, const void *key, size_t keylen);
/* Feeds received bytes; returns how many it consumed (it stops at DONE
** or FAILED: the rest belongs to the first request). Replies are
** appended to h->out. */
size_t mp_auth_server_feed(AuthServer *h, const unsigned char *p, size_t n);

/* The client's side over a connected socket, GIL released while it
** waits; 'dl' bounds it. Returns NULL on success or what failed
** ("authentication failed", "the server failed to authenticate itself",
** "connection closed during the handshake", ...). */
const char *mp_auth_client(NetConn *c, const void *key, size_t keylen,
                           const struct timespec *dl);

/* Pure helpers the client side uses (and the fuzzer): the answer to a
** challenge message (0, or -1 when it is not a challenge), and whether
** 'resp' answers the challenge carrying 'nonce'. */
int mp_auth_answer(const void *key, size_t keylen, const unsigned char *msg, size_t n,
                   unsigned char *out, size_t *outlen);
int mp_auth_check(const void *key, size_t keylen, const unsigned char nonce[MGR_NONCE],
                  const unsigned char *resp, size_t n);
/* The challenge message for 'nonce' into out (returns its length). */
size_t mp_auth_challenge(const unsigned char nonce[MGR_NONCE], unsigned char *out);

#endif

/* ---- the server (mgr_net_server.c, mgr_net_objects.c) ---- */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <lua.h>

#include "transfer.h"

#define MGR_MAX_PENDING 64           /* connections in the handshake at once */
#define MGR_MAX_CLIENTS 256          /* authenticated connections at once */

typedef struct ServerConn ServerConn;

/* One per serve loop. Immutable while serving: lfd, wake, key, keylen,
** allow_functions, hs_timeout, watch_parent. 'stopping' is atomic. 'mu'
** guards the list of connections (conns, nconns): a handler closes its
** socket under mu, so the loop's shutdown(2) of every socket never hits
** a reused descriptor. Reference counted: the serve loop and every
** handler thread hold one. */
typedef struct NetServer {
  atomic_int refs;
  int lfd;
  int wake[2];               /* a handler asks the loop to stop */
  unsigned char *key;
  size_t keylen;
  int allow_functions;
  double hs_timeout;
  pid_t watch_parent;        /* start(): stop when this process is gone */
  atomic_int stopping;
  pthread_mutex_t mu;
  ServerConn *conns;
  int nconns;
} NetServer;

/* An authenticated connection, owned by its handler thread (a Lua
** userdata the thread's arguments keep alive). */
struct ServerConn {
  NetConn nc;
  NetServer *srv;            /* one reference */
  char peer[64];
  ServerConn *prev, *next;   /* srv->mu */
};

void mgr_srv_decref(NetServer *s);
/* Serves until a shutdown request, Ctrl-C (raised), or the watched parent
** is gone. The caller holds the GIL; the served objects are set up. */
void mgr_srv_loop(lua_State *L, NetServer *s);
/* Logs a line about a peer on stderr ("multiprocessing.managers: ..."). */
void mgr_srv_log(const char *peer, const char *what);

/* Handles one request (the GIL held): pushes nothing, fills 'reply'.
** Returns 1 when the request was "shutdown". */
int mgr_obj_dispatch(lua_State *L, NetServer *s, const unsigned char *req, size_t len,
                     TrBuffer *reply);
/* Before serving: the table at idx maps typeid -> callable (or false);
** 'sync' adds SyncManager's types (dict, list, Queue, ...). */
void mgr_obj_setup(lua_State *L, int idx, int sync);

/* ---- the client (mgr_net_client.c, mgr_net_proxy.c) ---- */

#define MGR_IDLE 64                  /* idle connections a client keeps */

/* A client's view of one server: its address and key, and a pool of
** authenticated connections, each kept for the thread that opened it (as
** Python's proxies keep a connection per thread). A request takes the
** calling thread's connection (or opens one) and gives it back after the
** reply, so threads calling at the same time each have their own, a call
** that blocks in the server (queue:get) holds nobody else up, and the
** server sees each client thread as one handler thread of its own: a
** Lock acquired through a proxy is released by the same thread. Immutable
** after creation: host, key, keylen, allow_functions, timeout ('port' is
** set before any request). 'mu' guards idle, idle_thread, nidle, owner
** and drops.
** Reference counted: the manager and every proxy hold one. */
typedef struct NetClient {
  atomic_int refs;
  char host[256];
  int port;
  unsigned char *key;
  size_t keylen;
  int allow_functions;
  double timeout;            /* s to connect and authenticate */
  pthread_mutex_t mu;
  pid_t owner;               /* the process the idle connections belong to */
  NetConn *idle[MGR_IDLE];   /* oldest first */
  pthread_t idle_thread[MGR_IDLE];
  int nidle;
  lua_Integer *drops;        /* ids of collected proxies, sent with the next request */
  size_t ndrops, dropcap;
  struct NetClient *prev, *next;   /* the list of clients (clients_mu, mgr_net_client.c) */
} NetClient;

NetClient *mgr_client_new(const char *host, int port, const void *key, size_t keylen,
                          int allow_functions, double timeout);
void mgr_client_incref(NetClient *c);
void mgr_client_decref(NetClient *c);
/* Sends op(id, name, the n values at first...) and pushes the results;
** raises the server's error (message and remote traceback, or the error
** object, e.g. queue.Empty) or what went wrong on the way. */
int mgr_client_request(lua_State *L, NetClient *c, const char *op, lua_Integer id,
                       const char *name, int first, int n);
/* Opens and authenticates one connection now (connect()); raises. */
void mgr_client_check(lua_State *L, NetClient *c);
/* A proxy was collected: its id goes with the next request. Never blocks. */
void mgr_client_drop(NetClient *c, lua_Integer id);

/* Fork duties (runtime/universe.c's fork list): every client's mutex is
** held across fork(); the child starts them afresh and forgets the
** parent's connections (closing its copies). Likewise the list of started
** servers (mgr_net_manager.c): a child does not stop its parent's. */
void mgr_clients_fork_prepare(void);
void mgr_clients_fork_parent(pid_t pid);
void mgr_clients_fork_child(void);
void mgr_started_fork_prepare(void);
void mgr_started_fork_parent(pid_t pid);
void mgr_started_fork_child(void);

/* Pushes a proxy on object id; 'exposed' (a list of method names) at idx. */
void mgr_proxy_push(lua_State *L, NetClient *c, const char *typeid, lua_Integer id, int exposed);
void mgr_proxy_open(lua_State *L);
int mgr_is_proxy(lua_State *L, int idx);

/* ---- the manager object (mgr_net_manager.c, mgr_net_serve.c) ---- */

#define MGR_MT "multiprocessing.managers.BaseManager"
#define SERVER_MT "multiprocessing.managers.Server"

enum { M_NEW, M_STARTED, M_CONNECTED, M_SHUT };

/* A BaseManager, used by the universe that made it (user values: 1 the
** registrations, typeid -> callable or false; 2 the authkey). */
typedef struct Mgr {
  NetClient *c;              /* after start/connect; shared with the proxies */
  int state, sync, allow_functions;
  double timeout, hs_timeout;
  pid_t server, creator;     /* start(): the server process and who started it */
  char host[256];
  int port;
} Mgr;

/* A listening socket on host:port (port 0: a free one, written back). */
int mgr_bind_listen(lua_State *L, const char *host, int *port);
/* The child of start() (the manager at 1, initializer at 2, initargs at
** 3): runs the initializer, writes a byte on 'ready', serves, exits. */
void mgr_run_server_child(lua_State *L, int lfd, int ready) __attribute__((noreturn));
/* Waits (GIL released) for that byte: 0, or -1 when the child died. */
int mgr_await_ready(int fd);
/* m:get_server() and the Server type (server.address, serve_forever). */
int mgr_get_server(lua_State *L);
void mgr_server_open(lua_State *L);

/* multiprocessing.Manager{address = ...}: a started SyncManager. */
int mgr_net_sync_manager(lua_State *L);
