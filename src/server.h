/* server.h: sockets, worker threads and privileges. */
#ifndef SHOAL_SERVER_H
#define SHOAL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "answer.h"
#include "options.h"
#include "stats.h"

struct server;

/** One UDP worker: one thread, one SO_REUSEPORT socket. */
struct udp_worker {
	struct server *srv;
	int fd;
	bool pktinfo;	/* bound to a wildcard address: reply from the address asked */
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
	int wake_fd;	/* eventfd: stop */
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
	atomic_bool stop;
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
 * When running as root: chroot (if asked), drop supplementary groups, gid
 * and uid to the --user (default nobody), and check root cannot come back.
 * \return 0 or -1 (err filled)
 */
int server_drop_privileges(const struct options *opt, char *err, size_t errsize);

/** Start the worker threads. \return 0 or -errno */
int server_start(struct server *s);

/** Ask every worker to stop, wait for them, close the sockets. */
void server_stop(struct server *s);

/* The loops (udp.c, tcp.c). */
void *udp_worker_run(void *arg);
void *tcp_worker_run(void *arg);
int tcp_worker_init(struct tcp_worker *w);

#endif
