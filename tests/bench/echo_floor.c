/*
 * echo_floor.c: the floor scripts/bench measures shoal against.
 *
 * The same socket setup and batch loop as shoal's UDP workers (src/server.c,
 * src/udp.c): N threads, each with its own SO_REUSEPORT UDP socket on the
 * address and a big receive buffer, recvmmsg with MSG_WAITFORONE into 64
 * preallocated buffers, the replies compacted into one dense array for one
 * sendmmsg. It does no DNS work at all: each datagram goes back with its QR
 * bit set. What shoal spends per query above this is shoal's own; what the
 * floor spends is the kernel's and the system calls'.
 *
 * With --pad N each reply is N octets long (zeros after the query; a query
 * already that long goes back as it came): a DO=1 answer is several times
 * the size of its query, and the kernel's cost grows with the octets it
 * copies, so scripts/bench --dnssec also runs a floor padded to shoal's
 * mean response size, which moves as many bytes as shoal does.
 *
 * Usage: shoal-echo-floor --listen 127.0.0.1:PORT [--threads N] [--pad N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* As shoal's UDP_BATCH (src/udp.c): 64 datagrams per system call. */
#define BATCH 64
/* As shoal's EDNS_SIZE_MAX (src/options.h): the buffer of one datagram. */
#define BUF_SIZE 4096
/* As shoal's UDP_RCVBUF / UDP_SNDBUF (src/server.c). SO_RCVBUFFORCE lets
 * root go past net.core.rmem_max; otherwise the kernel caps SO_RCVBUF. */
#define RCVBUF (8 << 20)
#define SNDBUF (4 << 20)
#define THREADS_MAX 256
#define DNS_HEADER 12
#define QR_BIT 0x80 /* in the third header octet (flags, network order) */

struct slot {
	struct sockaddr_storage addr;
	uint8_t data[BUF_SIZE];
};

static struct sockaddr_in listen_addr;
/* --pad: the length of every reply, 0 for an echo of the query's length;
 * at most BUF_SIZE, checked in main(). */
static unsigned pad_to;

static int open_socket(void)
{
	int one = 1, rcv = RCVBUF, snd = SNDBUF;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("echo_floor: socket");
		exit(1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		perror("echo_floor: SO_REUSEPORT");
		exit(1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (bind(fd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) < 0) {
		perror("echo_floor: bind");
		exit(1);
	}
	return fd;
}

static void *worker(void *arg)
{
	int fd = *(int *)arg;
	struct slot *slots = aligned_alloc(64, sizeof(*slots) * BATCH);
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov_in[BATCH], iov_out[BATCH];

	if (!slots) {
		fprintf(stderr, "echo_floor: out of memory\n");
		exit(1);
	}
	memset(in, 0, sizeof(in));
	for (int i = 0; i < BATCH; i++) {
		iov_in[i].iov_base = slots[i].data;
		iov_in[i].iov_len = sizeof(slots[i].data);
		in[i].msg_hdr.msg_name = &slots[i].addr;
		in[i].msg_hdr.msg_namelen = sizeof(slots[i].addr);
		in[i].msg_hdr.msg_iov = &iov_in[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		unsigned nout = 0;
		for (int i = 0; i < n; i++) {
			uint8_t *d = slots[i].data;
			/* As shoal: too short for a header, or a response: drop. */
			if (in[i].msg_len < DNS_HEADER || (d[2] & QR_BIT))
				continue;
			d[2] |= QR_BIT;
			unsigned len = in[i].msg_len;
			if (pad_to > len) {
				/* Zeros, not what the slot held before: a reply
				 * never carries an earlier datagram's octets. */
				memset(d + len, 0, pad_to - len);
				len = pad_to;
			}
			iov_out[nout].iov_base = d;
			iov_out[nout].iov_len = len;
			out[nout].msg_hdr = (struct msghdr){
			    .msg_name = &slots[i].addr,
			    .msg_namelen = in[i].msg_hdr.msg_namelen,
			    .msg_iov = &iov_out[nout],
			    .msg_iovlen = 1,
			};
			nout++;
		}
		unsigned sent = 0;
		while (sent < nout) {
			int r = sendmmsg(fd, out + sent, nout - sent, 0);
			if (r > 0)
				sent += (unsigned)r;
			else if (!(r < 0 && errno == EINTR))
				sent++; /* skip the message that failed, send the rest */
		}
		for (int i = 0; i < n; i++) {
			in[i].msg_hdr.msg_namelen = sizeof(slots[i].addr);
			in[i].msg_hdr.msg_flags = 0;
		}
	}
	return NULL;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --listen 127.0.0.1:PORT [--threads N] [--pad OCTETS]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	const char *listen = NULL;
	int threads = 1;
	long pad = 0;
	static int fds[THREADS_MAX];
	pthread_t tid[THREADS_MAX];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pad") && i + 1 < argc)
			pad = strtol(argv[++i], NULL, 10);
		else
			return usage(argv[0]);
	}
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	char host[INET_ADDRSTRLEN];
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || threads < 1 ||
	    threads > THREADS_MAX)
		return usage(argv[0]);
	if (pad < 0 || pad > BUF_SIZE) {
		fprintf(stderr, "echo_floor: --pad %ld: from 0 to %d octets\n", pad, BUF_SIZE);
		return 2;
	}
	pad_to = (unsigned)pad;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	int port = atoi(colon + 1);
	listen_addr.sin_family = AF_INET;
	listen_addr.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &listen_addr.sin_addr) != 1) {
		fprintf(stderr, "echo_floor: %s: not an IPv4 address and port\n", listen);
		return 2;
	}
	/* All sockets bound before any thread runs, as shoal does, so a
	 * failure to bind is a start-up failure and not a half-served port. */
	for (int i = 0; i < threads; i++)
		fds[i] = open_socket();
	for (int i = 0; i < threads; i++) {
		int err = pthread_create(&tid[i], NULL, worker, &fds[i]);
		if (err) {
			fprintf(stderr, "echo_floor: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	pthread_join(tid[0], NULL);
	return 0;
}
