/* server.h: sockets, worker threads and privileges. */
#ifndef SHOAL_SERVER_H
#define SHOAL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "answer/answer.h"
#include "ops/options.h"
#include "ops/stats.h"

struct server;

/** One UDP worker: one thread, one SO_REUSEPORT socket. */
struct udp_worker {
	struct server *srv;
	int fd;
	bool fd_owner;	/* closes fd (a shared socket is owned by its first worker) */
	bool pktinfo;	/* bound to a wildcard address: reply from the address asked */
	int cpu;	/* pinned to this CPU, or -1 */
	int family;
	struct stats *stats;
	pthread_t thread;
	bool started;
};

/** One TCP worker: one thread, an epoll loop, one SO_REUSEPORT listener per
 * listen address. */
struct tcp_worker {
	struct server *srv;
	int listen_fd[LISTEN_MAX];
	unsigned nlisten;
	int epfd;
	int wake_fd;	/* eventfd: stop or drain */
	int cpu;	/* pinned to this CPU, or -1 */
	struct stats *stats;
	pthread_t thread;
	bool started;
};

struct server {
	const struct options *opt;
	struct answer_cfg acfg;
	struct udp_worker *udp;	/* nlisten × threads */
	unsigned nudp;
	struct tcp_worker *tcp;	/* threads */
	unsigned ntcp;
	struct stats_worker *stats; /* nudp + ntcp */
	unsigned nstats;
	unsigned group;		/* UDP sockets per listen address (1 when shared) */
	int cpus[THREADS_MAX];	/* the CPUs we may run on, for --cpu-affinity */
	unsigned ncpus;
	atomic_bool stop;	/* leave now */
	atomic_bool draining;	/* answer what is queued, take nothing new, leave */
};

/**
 * Open every socket: for each listen address, `threads` UDP sockets and
 * `threads` TCP listeners, all SO_REUSEPORT on the same port. Fails, with a
 * message naming the address and cause, if the port is taken (even by
 * another SO_REUSEPORT user: a plain probe bind comes first) or needs
 * privileges.
 * \return 0 or -1 (err filled; nothing left open)
 */
int server_open(struct server *s, const struct options *opt, char *err, size_t errsize);

/**
 * The user to run as: --user, else "shoal" when that account exists, else
 * "nobody" (`*fallback` set: the caller warns).
 */
const char *server_user(const struct options *opt, bool *fallback);

/**
 * When running as root: chroot (if asked), drop supplementary groups, gid
 * and uid to the --user (default nobody), and check root cannot come back.
 * \return 0 or -1 (err filled)
 */
int server_drop_privileges(const struct options *opt, char *err, size_t errsize);

/** Start the worker threads. \return 0 or -errno */
int server_start(struct server *s);

/**
 * Point the kernel's choice of socket (SO_REUSEPORT) at --steer: attach the
 * classic BPF program for cpu or random to each address's group, or detach
 * any program (hash). `fresh`: our sockets are the whole group, in the
 * order we bound them; false after joining another process's group (a
 * --replace), when only order-free steering is attached. Failures (an old
 * kernel) are logged, not fatal.
 */
void server_steer(struct server *s, bool fresh);

/**
 * Graceful stop, for TERM and for a --replace handover: every UDP socket
 * stops taking new datagrams at once (it is connected to itself, so the
 * kernel sends new ones to the other sockets of the port, if any) but keeps
 * its queue; the workers answer what is queued and leave. TCP listeners
 * close; open connections are answered and closed when idle. Waits up to
 * `timeout_ms`, then stops whatever is left (server_stop).
 * \return the number of UDP queries answered while draining
 */
unsigned long long server_drain(struct server *s, int timeout_ms);

/** Ask every worker to stop, wait for them, close the sockets. */
void server_stop(struct server *s);

/* The loops (udp.c, tcp.c). */
void *udp_worker_run(void *arg);
void *tcp_worker_run(void *arg);
int tcp_worker_init(struct tcp_worker *w);

#endif
