/* server.c: sockets, worker threads, privilege drop. */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Enough for a burst of ~30k average queries queued while a worker is
 * busy; the kernel caps SO_RCVBUF at net.core.rmem_max unless we are
 * root (SO_RCVBUFFORCE). */
#define UDP_RCVBUF (8 << 20)
#define UDP_SNDBUF (4 << 20)
#define TCP_BACKLOG 1024

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	return memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

static void bind_error(const struct listen_addr *la, const char *proto, int e, char *err,
		       size_t errsize)
{
	if (e == EADDRINUSE)
		snprintf(err, errsize, "%s %s: address already in use (is another DNS server running?)",
			 proto, la->text);
	else if (e == EACCES)
		snprintf(err, errsize,
			 "%s %s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
			 proto, la->text);
	else if (e == EADDRNOTAVAIL)
		snprintf(err, errsize, "%s %s: no such local address", proto, la->text);
	else
		snprintf(err, errsize, "%s %s: %s", proto, la->text, strerror(e));
}

/* A plain bind without SO_REUSEPORT fails if anyone holds the port, even
 * a process that would let our SO_REUSEPORT sockets join it: this catches
 * a second server on the same port instead of silently sharing traffic. */
static int probe(const struct listen_addr *la, int type, char *err, size_t errsize)
{
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	int fd = socket(la->ss.ss_family, type | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		snprintf(err, errsize, "%s %s: socket: %s", proto, la->text, strerror(errno));
		return -1;
	}
	if (la->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&la->ss, la->len) < 0) {
		bind_error(la, proto, errno, err, errsize);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int open_socket(struct listen_addr *la, int type, char *err, size_t errsize)
{
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	int one = 1;
	int fd = socket(la->ss.ss_family, type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		snprintf(err, errsize, "%s %s: socket: %s", proto, la->text, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		snprintf(err, errsize, "%s %s: SO_REUSEPORT: %s (needs Linux 3.9)", proto, la->text,
			 strerror(errno));
		goto fail;
	}
	if (la->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int rcv = UDP_RCVBUF, snd = UDP_SNDBUF;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
		if (la->ss.ss_family == AF_INET) {
			/* Send responses without DF and ignore path MTU
			 * updates: a forged ICMP "fragmentation needed" must
			 * not make us fragment (as Knot and NSD do). */
			int omit = IP_PMTUDISC_OMIT;
			setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &omit, sizeof(omit));
		} else {
			int v = IPV6_PMTUDISC_OMIT;
			setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
		}
		if (is_wildcard(&la->ss)) {
			if (la->ss.ss_family == AF_INET)
				setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
			else
				setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		}
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&la->ss, la->len) < 0) {
		bind_error(la, proto, errno, err, errsize);
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0) {
		snprintf(err, errsize, "tcp %s: listen: %s", la->text, strerror(errno));
		goto fail;
	}
	/* Port 0: the first socket picks the port, the rest join it. */
	if ((la->ss.ss_family == AF_INET ? ((struct sockaddr_in *)&la->ss)->sin_port
					 : ((struct sockaddr_in6 *)&la->ss)->sin6_port) == 0) {
		socklen_t l = la->len;
		getsockname(fd, (struct sockaddr *)&la->ss, &l);
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int server_open(struct server *s, const struct options *opt, char *err, size_t errsize)
{
	unsigned nl = opt->nlisten, nt = opt->threads;
	struct listen_addr la[LISTEN_MAX];

	memcpy(la, opt->listen, sizeof(la));
	s->opt = opt;
	s->nudp = nl * nt;
	s->ntcp = nt;
	s->udp = calloc(s->nudp, sizeof(*s->udp));
	s->tcp = calloc(s->ntcp, sizeof(*s->tcp));
	s->nstats = s->nudp + s->ntcp;
	s->stats = stats_alloc(s->nstats);
	if (!s->udp || !s->tcp || !s->stats) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < s->nudp; i++)
		s->udp[i].fd = -1;
	for (unsigned t = 0; t < nt; t++) {
		s->tcp[t].epfd = s->tcp[t].wake_fd = -1;
		for (unsigned l = 0; l < LISTEN_MAX; l++)
			s->tcp[t].listen_fd[l] = -1;
	}
	for (unsigned l = 0; l < nl; l++) {
		bool port0 = (la[l].ss.ss_family == AF_INET
				      ? ((struct sockaddr_in *)&la[l].ss)->sin_port
				      : ((struct sockaddr_in6 *)&la[l].ss)->sin6_port) == 0;
		if (!port0 && (probe(&la[l], SOCK_DGRAM, err, errsize) < 0 ||
			       probe(&la[l], SOCK_STREAM, err, errsize) < 0))
			goto fail;
		struct listen_addr tl = la[l];
		for (unsigned t = 0; t < nt; t++) {
			struct udp_worker *u = &s->udp[l * nt + t];
			u->srv = s;
			u->family = la[l].ss.ss_family;
			u->pktinfo = is_wildcard(&la[l].ss);
			if ((u->fd = open_socket(&la[l], SOCK_DGRAM, err, errsize)) < 0)
				goto fail;
		}
		for (unsigned t = 0; t < nt; t++) {
			/* TCP takes the same port as UDP (chosen above if 0). */
			if (port0) {
				tl.ss = la[l].ss;
			}
			int fd = open_socket(&tl, SOCK_STREAM, err, errsize);
			if (fd < 0)
				goto fail;
			s->tcp[t].listen_fd[l] = fd;
			s->tcp[t].nlisten = nl;
		}
	}
	for (unsigned i = 0; i < s->nudp; i++) {
		s->stats[i].proto = STATS_UDP;
		s->stats[i].index = i;
		s->udp[i].stats = &s->stats[i].s;
	}
	for (unsigned t = 0; t < nt; t++) {
		s->tcp[t].srv = s;
		s->stats[s->nudp + t].proto = STATS_TCP;
		s->stats[s->nudp + t].index = t;
		s->tcp[t].stats = &s->stats[s->nudp + t].s;
		if (tcp_worker_init(&s->tcp[t]) < 0) {
			snprintf(err, errsize, "tcp worker: %s", strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	server_stop(s);
	return -1;
}

int server_drop_privileges(const struct options *opt, char *err, size_t errsize)
{
	if (geteuid() != 0)
		return 0; /* nothing to drop */
	const char *user = opt->user ? opt->user : "nobody";
	if (!strcmp(user, "root")) {
		if (!opt->allow_root) {
			snprintf(err, errsize, "refusing to keep running as root; pass --allow-root to insist");
			return -1;
		}
		log_warn("running as root (--allow-root)");
		return 0;
	}
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errsize, "--user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0 && !opt->allow_root) {
		snprintf(err, errsize, "--user %s has uid 0; pass --allow-root to insist", user);
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (opt->chroot_dir) {
		if (chroot(opt->chroot_dir) < 0 || chdir("/") < 0) {
			snprintf(err, errsize, "--chroot %s: %s", opt->chroot_dir, strerror(errno));
			return -1;
		}
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(err, errsize, "dropping privileges to %s: %s", user, strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errsize, "dropping privileges to %s: root could be regained", user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)%s%s", user, (unsigned)uid, (unsigned)gid,
		 opt->chroot_dir ? ", chroot " : "", opt->chroot_dir ? opt->chroot_dir : "");
	return 0;
}

int server_start(struct server *s)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Workers keep their big buffers on the heap; 256 KiB of stack is
	 * plenty and keeps many threads cheap. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned i = 0; i < s->nudp; i++) {
		int e = pthread_create(&s->udp[i].thread, &attr, udp_worker_run, &s->udp[i]);
		if (e) {
			pthread_attr_destroy(&attr);
			return -e;
		}
		s->udp[i].started = true;
	}
	for (unsigned i = 0; i < s->ntcp; i++) {
		int e = pthread_create(&s->tcp[i].thread, &attr, tcp_worker_run, &s->tcp[i]);
		if (e) {
			pthread_attr_destroy(&attr);
			return -e;
		}
		s->tcp[i].started = true;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	/* shutdown() wakes a thread blocked in recvmmsg on the socket (it
	 * returns 0), so workers notice `stop` at once. */
	for (unsigned i = 0; s->udp && i < s->nudp; i++)
		if (s->udp[i].fd >= 0)
			shutdown(s->udp[i].fd, SHUT_RDWR);
	for (unsigned i = 0; s->tcp && i < s->ntcp; i++) {
		if (s->tcp[i].wake_fd >= 0) {
			uint64_t one = 1;
			ssize_t w = write(s->tcp[i].wake_fd, &one, sizeof(one));
			(void)w;
		}
	}
	for (unsigned i = 0; s->udp && i < s->nudp; i++) {
		if (s->udp[i].started)
			pthread_join(s->udp[i].thread, NULL);
		s->udp[i].started = false;
		if (s->udp[i].fd >= 0)
			close(s->udp[i].fd);
		s->udp[i].fd = -1;
	}
	for (unsigned i = 0; s->tcp && i < s->ntcp; i++) {
		struct tcp_worker *w = &s->tcp[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
		for (unsigned l = 0; l < LISTEN_MAX; l++)
			if (w->listen_fd[l] >= 0) {
				close(w->listen_fd[l]);
				w->listen_fd[l] = -1;
			}
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		w->epfd = w->wake_fd = -1;
	}
}
