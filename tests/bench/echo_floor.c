/*
 * echo_floor.c - the floor for scripts/bench: the same socket setup and
 * batch loop as shoal's UDP workers (its own SO_REUSEPORT socket per
 * thread, big receive buffer, recvmmsg MSG_WAITFORONE into 64 preallocated
 * buffers, sendmmsg of the dense batch), but no DNS work at all: it flips
 * QR and sends each datagram back. Whatever shoal costs above this, per
 * query, is shoal's own.
 *
 * Usage: shoal-echo-floor --listen 127.0.0.1:PORT [--threads N]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64   /* as shoal's UDP_BATCH */
#define BUFSZ 4096 /* as shoal's EDNS_SIZE_MAX */

static struct sockaddr_in addr;

static void *worker(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	int rcv = 8 << 20, snd = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("bind");
		exit(1);
	}
	static __thread uint8_t buf[BATCH][BUFSZ];
	struct sockaddr_storage from[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov[BATCH], oiov[BATCH];
	memset(in, 0, sizeof(in));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = BUFSZ;
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (in[i].msg_len < 12 || (buf[i][2] & 0x80))
				continue;
			buf[i][2] |= 0x80;
			oiov[k].iov_base = buf[i];
			oiov[k].iov_len = in[i].msg_len;
			out[k].msg_hdr = (struct msghdr){.msg_name = &from[i],
							 .msg_namelen = in[i].msg_hdr.msg_namelen,
							 .msg_iov = &oiov[k],
							 .msg_iovlen = 1};
			k++;
		}
		for (int s = 0; s < k;) {
			int r = sendmmsg(fd, out + s, (unsigned)(k - s), 0);
			s += r > 0 ? r : 1;
		}
		for (int i = 0; i < n; i++)
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *listen = NULL;
	int threads = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s --listen 127.0.0.1:PORT [--threads N]\n", argv[0]);
			return 2;
		}
	}
	char host[64];
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || threads < 1) {
		fprintf(stderr, "usage: %s --listen 127.0.0.1:PORT [--threads N]\n", argv[0]);
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "%s: not an IPv4 address\n", host);
		return 2;
	}
	pthread_t t[256];
	for (int i = 0; i < threads && i < 256; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_join(t[0], NULL);
	return 0;
}
