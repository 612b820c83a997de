/* server.c: sockets, worker threads, privilege drop. */
#include "net/server.h"

#include <errno.h>
#include <grp.h>
#include <linux/filter.h>
#include <sched.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ops/log.h"

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

/* SO_DETACH_REUSEPORT_BPF (Linux 5.3) may be missing from old headers. */
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

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
	s->group = opt->socket_mode == SOCKET_MODE_SHARED ? 1 : nt;
	cpu_set_t set;
	s->ncpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && s->ncpus < THREADS_MAX; c++)
			if (CPU_ISSET(c, &set))
				s->cpus[s->ncpus++] = c;
	if (s->ncpus == 0)
		s->cpus[s->ncpus++] = 0;
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
		/* --replace joins the port of a running shoal on purpose. */
		if (!port0 && !opt->replace &&
		    (probe(&la[l], SOCK_DGRAM, err, errsize) < 0 ||
		     probe(&la[l], SOCK_STREAM, err, errsize) < 0))
			goto fail;
		struct listen_addr tl = la[l];
		for (unsigned t = 0; t < nt; t++) {
			struct udp_worker *u = &s->udp[l * nt + t];
			u->srv = s;
			u->family = la[l].ss.ss_family;
			u->pktinfo = is_wildcard(&la[l].ss);
			u->cpu = opt->cpu_affinity ? s->cpus[t % s->ncpus] : -1;
			if (t >= s->group) {
				u->fd = s->udp[l * nt].fd; /* --socket-mode shared */
				continue;
			}
			if ((u->fd = open_socket(&la[l], SOCK_DGRAM, err, errsize)) < 0)
				goto fail;
			u->fd_owner = true;
			/* --steer cpu: the kernel (6.1+) prefers, among sockets
			 * it hashes to, the one whose incoming CPU is the
			 * packet's; this holds in any order of the group, so
			 * it still steers after a --replace handover. */
			if (opt->steer == STEER_CPU &&
			    setsockopt(u->fd, SOL_SOCKET, SO_INCOMING_CPU, &u->cpu, sizeof(u->cpu)) < 0)
				log_warn("udp %s: SO_INCOMING_CPU: %s", la[l].text, strerror(errno));
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
		s->tcp[t].cpu = opt->cpu_affinity ? s->cpus[t % s->ncpus] : -1;
		s->stats[s->nudp + t].proto = STATS_TCP;
		s->stats[s->nudp + t].index = t;
		s->tcp[t].stats = &s->stats[s->nudp + t].s;
		if (tcp_worker_init(&s->tcp[t]) < 0) {
			snprintf(err, errsize, "tcp worker: %s", strerror(errno));
			goto fail;
		}
	}
	if (!opt->replace)
		server_steer(s, true);
	return 0;
fail:
	server_stop(s);
	return -1;
}

#define BPF_STMT_(code, k) ((struct sock_filter){(uint16_t)(code), 0, 0, (uint32_t)(k)})
#define BPF_JEQ_(k, jf) ((struct sock_filter){BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(jf), (uint32_t)(k)})

/* A = a random socket index in [0, n) */
static unsigned emit_random(struct sock_filter *p, unsigned i, unsigned n)
{
	p[i++] = BPF_STMT_(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RANDOM);
	p[i++] = BPF_STMT_(BPF_ALU | BPF_MOD | BPF_K, n);
	return i;
}

/**
 * The classic BPF program for one address's group of `n` sockets, where
 * socket i belongs to worker i (bound in that order). The value returned
 * is the index of the socket in the group (an index past the end makes the
 * kernel fall back to its hash).
 * - random: SKF_AD_RANDOM mod n.
 * - cpu: a table from the receiving CPU (SKF_AD_CPU) to the sockets of the
 *   workers pinned to it, worker i on cpus[i % ncpus]; a random one of them
 *   when several share a CPU; any socket for a CPU with no worker.
 * \return the number of instructions (0: nothing to attach)
 */
static unsigned steer_program(struct sock_filter *p, enum steer_mode mode, unsigned n,
			      const int *cpus, unsigned ncpus)
{
	unsigned i = 0;
	if (mode == STEER_RANDOM) {
		i = emit_random(p, i, n);
		p[i++] = BPF_STMT_(BPF_RET | BPF_A, 0);
		return i;
	}
	if (mode != STEER_CPU)
		return 0;
	p[i++] = BPF_STMT_(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
	for (unsigned c = 0; c < ncpus && c < n; c++) {
		/* workers c, c + ncpus, c + 2 ncpus, ... < n */
		unsigned k = (n - c + ncpus - 1) / ncpus;
		if (k == 1) {
			p[i++] = BPF_JEQ_(cpus[c], 1);
			p[i++] = BPF_STMT_(BPF_RET | BPF_K, c);
		} else {
			p[i++] = BPF_JEQ_(cpus[c], 5);
			i = emit_random(p, i, k);
			p[i++] = BPF_STMT_(BPF_ALU | BPF_MUL | BPF_K, ncpus);
			p[i++] = BPF_STMT_(BPF_ALU | BPF_ADD | BPF_K, c);
			p[i++] = BPF_STMT_(BPF_RET | BPF_A, 0);
		}
	}
	i = emit_random(p, i, n);
	p[i++] = BPF_STMT_(BPF_RET | BPF_A, 0);
	return i;
}

void server_steer(struct server *s, bool fresh)
{
	static const char *const names[] = {"hash", "cpu", "random"};
	const struct options *opt = s->opt;
	unsigned nt = opt->threads;
	/* 1 + 6 per CPU + 3: at most 1540 < BPF_MAXINSNS (4096) */
	static struct sock_filter prog[1 + 6 * THREADS_MAX + 3];

	if (s->group < 2)
		return; /* one socket per address: nothing to choose */
	/* After a handover the group's order is not ours to know: random
	 * does not care, cpu relies on SO_INCOMING_CPU, hash needs nothing. */
	unsigned len = (fresh || opt->steer == STEER_RANDOM)
			       ? steer_program(prog, opt->steer, nt, s->cpus, s->ncpus)
			       : 0;
	for (unsigned l = 0; l < opt->nlisten; l++) {
		int fd = s->udp[l * nt].fd;
		if (len == 0) {
			/* Drop a program left by a process we replaced. */
			if (!fresh && setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &(int){0},
						 sizeof(int)) < 0 && errno != ENOENT)
				log_warn("udp %s: detaching the steering program: %s",
					 opt->listen[l].text, strerror(errno));
			continue;
		}
		struct sock_fprog fp = {.len = (unsigned short)len, .filter = prog};
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) < 0)
			log_warn("udp %s: --steer %s: SO_ATTACH_REUSEPORT_CBPF: %s (needs Linux 4.5); "
				 "the kernel's hash steers instead",
				 opt->listen[l].text, names[opt->steer], strerror(errno));
		else
			log_debug("udp %s: --steer %s attached (%u instructions)", opt->listen[l].text,
				  names[opt->steer], len);
	}
}

const char *server_user(const struct options *opt, bool *fallback)
{
	*fallback = false;
	if (opt->user)
		return opt->user;
	/* A dedicated account, so that nobody else may stop the server
	 * through its control socket or write its files. */
	if (getpwnam("shoal"))
		return "shoal";
	*fallback = true;
	return "nobody";
}

int server_drop_privileges(const struct options *opt, char *err, size_t errsize)
{
	if (geteuid() != 0)
		return 0; /* nothing to drop */
	bool fallback;
	const char *user = server_user(opt, &fallback);
	if (fallback)
		log_warn("no user 'shoal' on this system: running as nobody, which other daemons "
			 "may share (create the user shoal, or set user:)");
	if (!strcmp(user, "root")) {
		if (!opt->allow_root) {
			snprintf(err, errsize, "refusing to keep running as root; pass --allow-root to insist");
			return -1;
		}
		if (opt->chroot_dir && (chroot(opt->chroot_dir) < 0 || chdir("/") < 0)) {
			snprintf(err, errsize, "--chroot %s: %s", opt->chroot_dir, strerror(errno));
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

static void pin(pthread_attr_t *attr, int cpu);

int server_start(struct server *s)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Workers keep their big buffers on the heap; 256 KiB of stack is
	 * plenty and keeps many threads cheap. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned i = 0; i < s->nudp; i++) {
		pin(&attr, s->udp[i].cpu);
		int e = pthread_create(&s->udp[i].thread, &attr, udp_worker_run, &s->udp[i]);
		if (e) {
			pthread_attr_destroy(&attr);
			return -e;
		}
		s->udp[i].started = true;
	}
	for (unsigned i = 0; i < s->ntcp; i++) {
		pin(&attr, s->tcp[i].cpu);
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

/* A thread's CPU (--cpu-affinity), or every CPU we may use (-1). */
static void pin(pthread_attr_t *attr, int cpu)
{
	cpu_set_t set;
	if (cpu < 0) {
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			pthread_attr_setaffinity_np(attr, sizeof(set), &set);
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_attr_setaffinity_np(attr, sizeof(set), &set);
}

/* Connect a UDP socket to its own address: from now on the kernel gives it
 * only datagrams from itself, so new queries go to the port's other
 * sockets, while those already queued stay to be read. Then shutdown(RD)
 * wakes its reader, which gets the queue and then an end-of-file. */
static void udp_close_door(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			if (a->sin_addr.s_addr == htonl(INADDR_ANY))
				a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
				a->sin6_addr = in6addr_loopback;
		}
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			log_warn("udp drain: connect: %s", strerror(errno));
	}
	shutdown(fd, SHUT_RD);
}

static bool join_until(pthread_t t, const struct timespec *deadline)
{
	return pthread_timedjoin_np(t, NULL, deadline) == 0;
}

unsigned long long server_drain(struct server *s, int timeout_ms)
{
	const struct options *opt = s->opt;
	unsigned nt = opt->threads;
	unsigned long long before = 0, after = 0;
	struct timespec deadline;

	for (unsigned i = 0; i < s->nudp; i++)
		before += stats_get(&s->udp[i].stats->responses);
	atomic_store(&s->draining, true);
	/* Last socket first: when a socket leaves a reuseport group the kernel
	 * moves the group's last one into its slot, so leaving from the end
	 * keeps a replacing process's sockets in the order it bound them. */
	for (unsigned l = opt->nlisten; l-- > 0;)
		for (unsigned t = s->group; t-- > 0;)
			if (s->udp[l * nt + t].fd >= 0)
				udp_close_door(s->udp[l * nt + t].fd, s->udp[l * nt + t].family);
	for (unsigned i = 0; i < s->ntcp; i++) {
		uint64_t one = 1;
		if (s->tcp[i].wake_fd >= 0 && write(s->tcp[i].wake_fd, &one, sizeof(one)) < 0)
			log_warn("tcp drain: wake: %s", strerror(errno));
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < s->nudp; i++)
		if (s->udp[i].started && join_until(s->udp[i].thread, &deadline))
			s->udp[i].started = false;
	for (unsigned i = 0; i < s->ntcp; i++)
		if (s->tcp[i].started && join_until(s->tcp[i].thread, &deadline))
			s->tcp[i].started = false;
	for (unsigned i = 0; i < s->nudp; i++)
		after += stats_get(&s->udp[i].stats->responses);
	server_stop(s); /* whatever is left, and the descriptors */
	return after - before;
}

void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	/* shutdown() wakes a thread blocked in recvmmsg on the socket (it
	 * returns 0), so workers notice `stop` at once. */
	for (unsigned i = 0; s->udp && i < s->nudp; i++)
		if (s->udp[i].fd_owner && s->udp[i].fd >= 0)
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
	}
	for (unsigned i = 0; s->udp && i < s->nudp; i++) {
		if (s->udp[i].fd_owner && s->udp[i].fd >= 0)
			close(s->udp[i].fd);
		s->udp[i].fd = -1;
		s->udp[i].fd_owner = false;
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
