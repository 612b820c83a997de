/* journal.c: the zone journal (journal.h). */
#include "zone/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dname.h"
#include "zone/zone.h"


/* An entry's len is 32 bits on disk. */
#define ENTRY_WIRE_MAX UINT32_MAX

/* One changeset of the chain and the checksum of its entry, kept so that
 * rewriting the file does not read every wire again. */
struct jentry {
	struct changeset *cs;
	uint32_t crc;
};

struct journal {
	/* Guards ents, n and usage against readers (journal_find, the
	 * counters). The one writer reads them without it. */
	pthread_mutex_t lock;
	struct jentry *ents; /* oldest first */
	size_t n, cap;
	size_t usage; /* file_size, or what the next write makes when dirty */

	/* The writer's alone. */
	char *path;
	int fd;		  /* the file, open for reading and writing */
	bool dirty;	  /* the file is not ents: the next write rewrites it whole */
	size_t file_size; /* octets of the file (when not dirty) */
	size_t dead;	  /* entries before ents in the file, dropped from memory */
	bool empty_file;  /* no file, or one of 0 octets: an empty journal (a
			   * new one) until the first write makes it */
	size_t max_depth, max_usage;
	journal_log_fn log;
	void *log_ctx;
};

/* ---- logging ---- */

__attribute__((format(printf, 3, 4))) static void jlog(const struct journal *j,
							enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	int k = snprintf(msg, sizeof(msg), "journal %s: ", j->path);
	if (k < 0 || (size_t)k >= sizeof(msg))
		k = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	va_end(ap);
	if (j->log)
		j->log(j->log_ctx, level, msg);
	else
		log_msg(level, "%s", msg);
}

/* ---- CRC32C ---- */

/* Castagnoli's polynomial, reflected: its Hamming distance over entries of
 * a few KiB is better than that of the IEEE CRC32, and it is what storage
 * uses (iSCSI, ext4, btrfs), so x86-64 has an instruction for it (SSE4.2).
 * On the build machine (a VM) one table lookup per octet ran at 230 MB/s,
 * the instruction at several GB/s: reading a full 100 MiB journal at
 * start-up spent 0.4 s in the checksum alone, and an append of a 5 MB
 * changeset 20 ms. The table stays for other machines; the only platform
 * variant of this file is here. */
#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[256];
static uint32_t (*crc_update)(uint32_t crc, const uint8_t *p, size_t len);
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* crc: the running register (pre-inverted) */
static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p,
							  size_t len)
{
	uint64_t c = crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8); /* unaligned, little-endian as the CRC wants */
		c = _mm_crc32_u64(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return c32;
}

static bool crc_hw_usable(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	return crc_sw(crc, p, len);
}

static bool crc_hw_usable(void)
{
	return false;
}
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[i] = c;
	}
	crc_update = crc_sw;
	/* the instruction only when it agrees with the table: a file
	 * written by one must read with the other */
	static const uint8_t probe[] = "123456789 and an odd tail";
	if (crc_hw_usable() && crc_hw(~0u, probe, sizeof(probe) - 1) ==
				       crc_sw(~0u, probe, sizeof(probe) - 1))
		crc_update = crc_hw;
}

uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_update(~crc, data, len);
}

/* ---- the format ---- */

static void put32(uint8_t *p, uint32_t v) /* network order */
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) /* network order */
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void header_make(uint8_t h[JOURNAL_HEADER_LEN])
{
	memcpy(h, JOURNAL_MAGIC, 8);
	put32(h + 8, JOURNAL_VERSION);
	put32(h + 12, 0);
}

/* The entry header of cs, its checksum too when crc_known is false. */
static void entry_header(uint8_t h[JOURNAL_ENTRY_HEADER_LEN], const struct changeset *cs,
			 uint32_t *crc, bool crc_known)
{
	put32(h, cs->from);
	put32(h + 4, cs->to);
	put32(h + 8, cs->nremoved);
	put32(h + 12, cs->nadded);
	put32(h + 16, (uint32_t)cs->len);
	if (!crc_known)
		*crc = journal_crc32c(journal_crc32c(0, h, 20), cs->wire, cs->len);
	put32(h + 20, *crc);
}

static size_t entry_size(const struct changeset *cs)
{
	return JOURNAL_ENTRY_HEADER_LEN + cs->len;
}

bool journal_wire_check(const uint8_t *wire, size_t len, uint32_t from, uint32_t to,
			uint32_t nremoved, uint32_t nadded, char *why, size_t whysize)
{
	struct changeset v = {.from = from,
			      .to = to,
			      .nremoved = nremoved,
			      .nadded = nadded,
			      .len = len,
			      .wire = (uint8_t *)wire};
	return changeset_check(&v, why, whysize) == 0;
}

/* ---- file I/O ---- */

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t k = pwrite(fd, p, len, off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
		off += k;
	}
	return 0;
}

/* 0, -errno, or -ENODATA when the file ends first. */
static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t k = pread(fd, p, len, off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -ENODATA;
		p += k;
		len -= (size_t)k;
		off += k;
	}
	return 0;
}

/* The directory entry of a rename is durable only once its directory is
 * fsync()ed (rename(2) itself promises atomicity, not durability). */
static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Replace the file with header + ents[0..n) + extra (NULL: none), through
 * "<path>.tmp", fsync and rename (journal.h). On success j->fd is the new
 * file, with no dead entries, and j->dirty false; on failure the old file
 * is as it was. */
static int file_rewrite(struct journal *j, const struct jentry *ents, size_t n,
			const struct jentry *extra)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", j->path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	int rc;
	uint8_t h[JOURNAL_ENTRY_HEADER_LEN];
	header_make(h);
	off_t off = 0;
	if ((rc = pwrite_all(fd, h, JOURNAL_HEADER_LEN, off)) < 0)
		goto fail;
	off += JOURNAL_HEADER_LEN;
	for (size_t i = 0; i < n + (extra != NULL); i++) {
		const struct jentry *e = i < n ? &ents[i] : extra;
		uint32_t crc = e->crc;
		entry_header(h, e->cs, &crc, true);
		if ((rc = pwrite_all(fd, h, sizeof(h), off)) < 0 ||
		    (rc = pwrite_all(fd, e->cs->wire, e->cs->len, off + (off_t)sizeof(h))) < 0)
			goto fail;
		off += (off_t)entry_size(e->cs);
	}
	if (fsync(fd) < 0 || rename(tmp, j->path) < 0) {
		rc = -errno;
		goto fail;
	}
	/* Renamed: the new file is the journal now, even if the directory
	 * sync fails (then a crash may bring back the old file, which ends
	 * before the serial served and is dropped on reading). */
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->dirty = false;
	j->empty_file = false;
	j->file_size = (size_t)off;
	j->dead = 0;
	if ((rc = fsync_dir_of(j->path)) < 0)
		jlog(j, LOG_LVL_WARN, "fsync of its directory: %s", strerror(-rc));
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return rc;
}

/* Append one entry at `off`, the end of the file. A failure leaves at most
 * a torn tail, which the next write (dirty) or open removes. */
static int file_append(struct journal *j, const struct jentry *e, size_t off)
{
	uint8_t h[JOURNAL_ENTRY_HEADER_LEN];
	uint32_t crc = e->crc;
	entry_header(h, e->cs, &crc, true);
	int rc;
	if ((rc = pwrite_all(j->fd, h, sizeof(h), (off_t)off)) < 0 ||
	    (rc = pwrite_all(j->fd, e->cs->wire, e->cs->len, (off_t)(off + sizeof(h)))) < 0)
		goto fail;
	/* fdatasync: the new size is metadata it flushes too (the data would
	 * be unreachable without it), the mtime is not worth a journal commit */
	if (fdatasync(j->fd) < 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	/* best effort: a torn tail is harmless, the checksum finds it */
	if (ftruncate(j->fd, (off_t)off) < 0)
		j->dirty = true;
	return rc;
}

/* ---- the chain in memory ---- */

static int ents_reserve(struct journal *j, size_t n)
{
	if (n <= j->cap)
		return 0;
	size_t cap = j->cap ? j->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	struct jentry *e = realloc(j->ents, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	j->ents = e;
	j->cap = cap;
	return 0;
}

static size_t usage_of(const struct jentry *ents, size_t n)
{
	size_t u = JOURNAL_HEADER_LEN;
	for (size_t i = 0; i < n; i++)
		u += entry_size(ents[i].cs);
	return u;
}

/* How many of the oldest of ents[0..n) must go so that they and `extra`
 * octets more in `extra_n` entries fit the limits. */
static size_t over_limits(const struct journal *j, const struct jentry *ents, size_t n,
			  size_t extra_n, size_t extra)
{
	size_t usage = usage_of(ents, n) + extra;
	size_t drop = 0;
	while (drop < n && (n - drop + extra_n > j->max_depth || usage > j->max_usage)) {
		usage -= entry_size(ents[drop].cs);
		drop++;
	}
	return drop;
}

/* Under the lock, drop the `drop` oldest entries and append `add` (NULL:
 * none), and publish the file's size; the dropped changesets go to `gone`
 * for the caller to release after unlocking. ents has room
 * (ents_reserve). */
static void chain_publish(struct journal *j, size_t drop, const struct jentry *add,
			  struct changeset **gone)
{
	pthread_mutex_lock(&j->lock);
	for (size_t i = 0; i < drop; i++)
		gone[i] = j->ents[i].cs;
	memmove(j->ents, j->ents + drop, (j->n - drop) * sizeof(*j->ents));
	j->n -= drop;
	if (add)
		j->ents[j->n++] = *add;
	j->usage = j->dirty ? usage_of(j->ents, j->n) : j->file_size;
	pthread_mutex_unlock(&j->lock);
}

static void release_all(struct changeset **gone, size_t n)
{
	for (size_t i = 0; i < n; i++)
		changeset_unref(gone[i]);
}

/* Empty the chain (memory and file), the journal's own references
 * released. */
static void chain_clear(struct journal *j)
{
	size_t n = j->n;
	struct changeset **gone = n ? malloc(n * sizeof(*gone)) : NULL;
	pthread_mutex_lock(&j->lock);
	for (size_t i = 0; i < n; i++) {
		if (gone)
			gone[i] = j->ents[i].cs;
		else
			changeset_unref(j->ents[i].cs); /* out of memory: under the lock */
	}
	j->n = 0;
	pthread_mutex_unlock(&j->lock);
	if (gone) {
		release_all(gone, n);
		free(gone);
	}
	/* a file that is an empty journal already is left alone */
	bool empty = n == 0 && (j->empty_file || (!j->dirty && !j->dead &&
						  j->file_size == JOURNAL_HEADER_LEN));
	int rc = empty ? 0 : file_rewrite(j, NULL, 0, NULL);
	if (rc < 0) {
		j->dirty = true;
		jlog(j, LOG_LVL_ERR, "emptying the file: %s (done at the next change)",
		     strerror(-rc));
	}
	pthread_mutex_lock(&j->lock);
	j->usage = JOURNAL_HEADER_LEN;
	pthread_mutex_unlock(&j->lock);
}

/* ---- reading ---- */

/* One entry as read, before the chain is checked. */
struct rentry {
	struct jentry e;
	size_t index;
	size_t off;
};

/* Entries found damaged that open logs one by one; a file of garbage whose
 * lengths happen to chain would otherwise log a line per 24 octets. */
#define BAD_LOGGED_MAX 8

/* Read every entry that is whole and sound into *out; log what is not.
 * \return how many; *damaged set when anything had to be cut or skipped */
static size_t file_read(struct journal *j, size_t size, struct rentry **out, size_t *nout_cap,
			bool *damaged)
{
	uint8_t h[JOURNAL_ENTRY_HEADER_LEN];
	size_t n = 0, off = JOURNAL_HEADER_LEN, nbad = 0;
	char why[256];
	for (size_t index = 0; off < size; index++) {
		if (size - off < sizeof(h)) {
			jlog(j, LOG_LVL_WARN,
			     "entry %zu at offset %zu: torn (%zu of %d header octets): cut off",
			     index, off, size - off, JOURNAL_ENTRY_HEADER_LEN);
			*damaged = true;
			break;
		}
		int rc = pread_all(j->fd, h, sizeof(h), (off_t)off);
		if (rc < 0) {
			jlog(j, LOG_LVL_ERR, "entry %zu at offset %zu: read: %s: the rest dropped",
			     index, off, strerror(-rc));
			*damaged = true;
			break;
		}
		size_t len = get32(h + 16);
		if (len > size - off - sizeof(h)) {
			/* a torn append, or a length that is itself damaged:
			 * either way nothing after it can be found */
			jlog(j, LOG_LVL_WARN,
			     "entry %zu at offset %zu: torn (%zu octets of records, %zu in the "
			     "file): cut off",
			     index, off, len, size - off - sizeof(h));
			*damaged = true;
			break;
		}
		uint8_t *wire = malloc(len ? len : 1);
		struct changeset *cs =
			wire ? changeset_new(get32(h), get32(h + 4), get32(h + 8), get32(h + 12),
					     wire, len)
			     : NULL;
		if (!cs) {
			jlog(j, LOG_LVL_ERR, "entry %zu at offset %zu: out of memory: the rest dropped",
			     index, off);
			*damaged = true;
			break;
		}
		size_t this_off = off;
		off += sizeof(h) + len;
		if ((rc = pread_all(j->fd, wire, len, (off_t)(this_off + sizeof(h)))) < 0) {
			jlog(j, LOG_LVL_ERR, "entry %zu at offset %zu: read: %s: the rest dropped",
			     index, this_off, strerror(-rc));
			changeset_unref(cs);
			*damaged = true;
			break;
		}
		uint32_t crc = journal_crc32c(journal_crc32c(0, h, 20), wire, len);
		/* A damaged entry whose length holds is skipped, not the end:
		 * the entries after it still make a chain that ends at the
		 * serial served, and those are the ones IXFR asks for most. */
		if (crc != get32(h + 20)) {
			if (++nbad <= BAD_LOGGED_MAX)
				jlog(j, LOG_LVL_WARN,
				     "entry %zu at offset %zu (serial %" PRIu32 " to %" PRIu32
				     "): checksum 0x%08" PRIx32 ", stored 0x%08" PRIx32 ": dropped",
				     index, this_off, cs->from, cs->to, crc, get32(h + 20));
			changeset_unref(cs);
			*damaged = true;
			continue;
		}
		if (!serial_newer(cs->to, cs->from)) {
			/* journal_append never writes one (a break instead) */
			snprintf(why, sizeof(why),
				 "serial %" PRIu32 " is not newer than %" PRIu32 " (RFC 1982)", cs->to,
				 cs->from);
		} else if (journal_wire_check(wire, len, cs->from, cs->to, cs->nremoved,
					      cs->nadded, why, sizeof(why))) {
			why[0] = 0;
		}
		if (why[0]) {
			if (++nbad <= BAD_LOGGED_MAX)
				jlog(j, LOG_LVL_WARN,
				     "entry %zu at offset %zu (serial %" PRIu32 " to %" PRIu32
				     "): %s (records start at offset %zu): dropped",
				     index, this_off, cs->from, cs->to, why, this_off + sizeof(h));
			changeset_unref(cs);
			*damaged = true;
			continue;
		}
		if (n == *nout_cap) {
			size_t cap = n ? n * 2 : 16;
			struct rentry *r = realloc(*out, cap * sizeof(*r));
			if (!r) {
				changeset_unref(cs);
				jlog(j, LOG_LVL_ERR,
				     "entry %zu at offset %zu: out of memory: the rest dropped",
				     index, this_off);
				*damaged = true;
				break;
			}
			*out = r;
			*nout_cap = cap;
		}
		(*out)[n++] = (struct rentry){.e = {cs, crc}, .index = index, .off = this_off};
	}
	if (nbad > BAD_LOGGED_MAX)
		jlog(j, LOG_LVL_WARN, "%zu more damaged entries dropped (not listed)",
		     nbad - BAD_LOGGED_MAX);
	return n;
}

/* From what was read, the longest run of consecutive entries that ends the
 * file and ends at `served`; the rest released. \return its start */
static size_t chain_of(struct journal *j, struct rentry *r, size_t n, uint32_t served,
		       bool ahead, bool *dropped)
{
	size_t start = 0;
	for (size_t i = 1; i < n; i++) {
		if (r[i].e.cs->from == r[i - 1].e.cs->to)
			continue;
		jlog(j, LOG_LVL_WARN,
		     "entry %zu at offset %zu: from serial %" PRIu32 ", but entry %zu ends at %" PRIu32
		     ": entries %zu to %zu dropped",
		     r[i].index, r[i].off, r[i].e.cs->from, r[i - 1].index, r[i - 1].e.cs->to,
		     r[start].index, r[i - 1].index);
		start = i;
	}
	size_t from = n;
	if (ahead && start < n && r[n - 1].e.cs->to != served)
		for (from = start; from < n && r[from].e.cs->from != served; from++)
			;
	if (start < n && r[n - 1].e.cs->to != served && from == n) {
		/* info, not a warning: editing the zone file while shoal is
		 * down does this, and that is no damage */
		jlog(j, LOG_LVL_INFO,
		     "ends at serial %" PRIu32 " (entry %zu at offset %zu), the zone is served at %" PRIu32
		     ": a break (the zone changed while shoal was down?): dropped",
		     r[n - 1].e.cs->to, r[n - 1].index, r[n - 1].off, served);
		start = n;
	}
	if (start)
		*dropped = true;
	for (size_t i = 0; i < start; i++)
		changeset_unref(r[i].e.cs);
	return start;
}

static int journal_load(struct journal *j, uint32_t served, bool ahead)
{
	struct stat st;
	if (fstat(j->fd, &st) < 0)
		return -errno;
	if (st.st_size == 0) {
		/* new, or never written: an empty journal. The first write
		 * gives it its header, through a rename so that a crash never
		 * leaves a file without one; until then it stays as it is (a
		 * secondary's first AXFR, thousands of catalog members, cost
		 * no write) */
		j->dirty = true;
		j->empty_file = true;
		return 0;
	}
	size_t size = (size_t)st.st_size;
	uint8_t h[JOURNAL_HEADER_LEN], want[JOURNAL_HEADER_LEN];
	header_make(want);
	int rc = size < sizeof(h) ? -ENODATA : pread_all(j->fd, h, sizeof(h), 0);
	if (rc < 0 || memcmp(h, want, 8) != 0) {
		jlog(j, LOG_LVL_WARN, "offset 0: %s: the whole journal dropped",
		     rc < 0 && rc != -ENODATA ? strerror(-rc)
						: "not a shoal journal (bad magic or too short)");
		j->dirty = true;
		return 0;
	}
	if (get32(h + 8) != JOURNAL_VERSION || get32(h + 12) != 0) {
		jlog(j, LOG_LVL_WARN,
		     "offset 8: version %" PRIu32 " flags 0x%" PRIx32 ", this shoal reads version %d "
		     "flags 0: the whole journal dropped",
		     get32(h + 8), get32(h + 12), JOURNAL_VERSION);
		j->dirty = true;
		return 0;
	}
	struct rentry *r = NULL;
	size_t cap = 0;
	bool damaged = false;
	size_t n = file_read(j, size, &r, &cap, &damaged);
	size_t start = chain_of(j, r, n, served, ahead, &damaged);
	size_t kept = n - start;
	rc = ents_reserve(j, kept + 1);
	if (rc < 0) {
		for (size_t i = start; i < n; i++)
			changeset_unref(r[i].e.cs);
		free(r);
		return rc;
	}
	for (size_t i = start; i < n; i++)
		j->ents[j->n++] = r[i].e;
	free(r);
	j->file_size = size;
	j->dead = 0;
	/* Entries over the limits: those an append dropped from memory and
	 * left in the file (dead, journal_append), up to max_depth of them,
	 * stay there; more mean the limits were lowered since, and the file
	 * is rewritten. */
	size_t drop = over_limits(j, j->ents, j->n, 0, 0);
	if (drop && !damaged && drop <= j->max_depth && size <= j->max_usage) {
		struct changeset **gone = malloc(drop * sizeof(*gone));
		if (!gone)
			return -ENOMEM;
		chain_publish(j, drop, NULL, gone);
		release_all(gone, drop);
		free(gone);
		j->dead = drop;
	} else if (drop) {
		jlog(j, LOG_LVL_INFO,
		     "changesets: %zu in %zu octets, over the limits (%zu, %zu octets): oldest "
		     "dropped: %zu",
		     j->n, usage_of(j->ents, j->n), j->max_depth, j->max_usage, drop);
		struct changeset **gone = malloc(drop * sizeof(*gone));
		if (!gone)
			return -ENOMEM;
		chain_publish(j, drop, NULL, gone);
		release_all(gone, drop);
		free(gone);
		damaged = true;
	}
	if (damaged)
		j->dirty = true;
	j->usage = j->dirty ? usage_of(j->ents, j->n) : j->file_size;
	return 0;
}

/* ---- the interface ---- */

static struct journal *open_journal(const char *path, uint32_t served_serial, bool ahead,
				    size_t max_depth, size_t max_usage, journal_log_fn log,
				    void *ctx)
{
	struct journal *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	int rc = 0;
	j->fd = -1;
	j->max_depth = max_depth ? max_depth : JOURNAL_DEPTH_DEFAULT;
	j->max_usage = max_usage ? max_usage : JOURNAL_USAGE_DEFAULT;
	j->log = log;
	j->log_ctx = ctx;
	j->usage = JOURNAL_HEADER_LEN;
	pthread_mutex_init(&j->lock, NULL);
	if (!(j->path = strdup(path))) {
		rc = -ENOMEM;
		goto fail;
	}
	j->fd = open(path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0 && errno == ENOENT) {
		/* none yet: an empty journal, made by its first write (a
		 * secondary's first AXFR, thousands of catalog members, make
		 * no file); a folder it could not be made in is said now */
		char dir[4096];
		const char *slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
			 slash ? path : ".");
		if (access(dir, W_OK | X_OK) == 0) {
			j->dirty = true;
			j->empty_file = true;
			return j;
		}
		rc = -errno;
		jlog(j, LOG_LVL_ERR, "open: %s: no IXFR from it", strerror(-rc));
		goto fail;
	}
	if (j->fd < 0) {
		rc = -errno;
		jlog(j, LOG_LVL_ERR, "open: %s: no IXFR from it", strerror(-rc));
		goto fail;
	}
	/* a rewrite that a crash interrupted before its rename: never read,
	 * only in the way (and taking room) until the next rewrite */
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) < sizeof(tmp) && unlink(tmp) == 0)
		jlog(j, LOG_LVL_INFO, "removed %s, left by a rewrite that did not finish", tmp);
	if ((rc = journal_load(j, served_serial, ahead)) < 0) {
		jlog(j, LOG_LVL_ERR, "reading: %s: no IXFR from it", strerror(-rc));
		goto fail;
	}
	if (j->dirty && !(j->empty_file && j->n == 0) &&
	    (rc = file_rewrite(j, j->ents, j->n, NULL)) < 0) {
		/* what was read is sound; the file is rewritten at the next
		 * change, and until then a restart repeats this */
		jlog(j, LOG_LVL_ERR, "rewriting: %s (done again at the next change)", strerror(-rc));
	}
	return j;
fail:
	j->dirty = false; /* the file stays as it was found */
	journal_close(j);
	errno = -rc;
	return NULL;
}

struct journal *journal_open(const char *path, uint32_t served_serial, size_t max_depth,
			     size_t max_usage, journal_log_fn log, void *ctx)
{
	return open_journal(path, served_serial, false, max_depth, max_usage, log, ctx);
}

struct journal *journal_open_ahead(const char *path, uint32_t copy_serial, size_t max_depth,
				   size_t max_usage, journal_log_fn log, void *ctx)
{
	return open_journal(path, copy_serial, true, max_depth, max_usage, log, ctx);
}

int journal_append(struct journal *j, struct changeset *cs)
{
	char why[256];
	if (cs->len > ENTRY_WIRE_MAX ||
	    !journal_wire_check(cs->wire, cs->len, cs->from, cs->to, cs->nremoved, cs->nadded,
				why, sizeof(why))) {
		jlog(j, LOG_LVL_ERR, "changeset %" PRIu32 " to %" PRIu32 " refused: %s", cs->from,
		     cs->to, cs->len > ENTRY_WIRE_MAX ? "larger than 4 GiB" : why);
		return -EINVAL;
	}
	if (!serial_newer(cs->to, cs->from)) {
		/* an IXFR client would not take the new serial as newer
		 * (RFC 1982), and a chain that comes back to a serial is
		 * ambiguous: start again from the new one */
		jlog(j, LOG_LVL_INFO,
		     "serial %" PRIu32 " is not newer than %" PRIu32 " (RFC 1982): a break",
		     cs->to, cs->from);
		journal_break(j, cs->to);
		return 0;
	}
	bool brk = j->n && cs->from != j->ents[j->n - 1].cs->to;
	if (brk)
		jlog(j, LOG_LVL_INFO,
		     "changeset from serial %" PRIu32 " after a chain ending at %" PRIu32
		     ": a break, changesets dropped: %zu",
		     cs->from, j->ents[j->n - 1].cs->to, j->n);
	size_t size = entry_size(cs);
	if (JOURNAL_HEADER_LEN + size > j->max_usage) {
		jlog(j, LOG_LVL_INFO,
		     "changeset %" PRIu32 " to %" PRIu32 " takes %zu octets, over the limit of %zu: "
		     "not kept, the journal emptied",
		     cs->from, cs->to, size, j->max_usage);
		if (j->n || j->dirty || j->dead)
			chain_clear(j);
		return 0;
	}
	/* a break drops them all, and the file is rewritten once, with cs */
	size_t drop = brk ? j->n : over_limits(j, j->ents, j->n, 1, size);
	struct changeset **gone = drop ? malloc(drop * sizeof(*gone)) : NULL;
	if ((drop && !gone) || ents_reserve(j, j->n + 1) < 0) {
		free(gone);
		return -ENOMEM;
	}
	struct jentry e = {.cs = cs};
	uint8_t h[JOURNAL_ENTRY_HEADER_LEN];
	entry_header(h, cs, &e.crc, false);
	/* What the limits drop may stay in the file, dead, before the chain:
	 * open skips it. Up to max_depth of them, and within max_usage, an
	 * append only appends; past that the file is rewritten with the chain
	 * alone. So a journal at its depth, where every append drops one,
	 * rewrites the file once in max_depth appends, not at each (Knot
	 * amortises its deletes likewise, purging twice what it must). */
	int rc;
	bool append = !brk && !j->dirty && j->dead + drop <= j->max_depth &&
		      j->file_size + size <= j->max_usage;
	if (append) {
		rc = file_append(j, &e, j->file_size);
		if (rc == 0) {
			j->file_size += size;
			j->dead += drop;
		}
	} else {
		rc = file_rewrite(j, j->ents + drop, j->n - drop, &e);
	}
	if (rc < 0) {
		j->dirty = true;
		jlog(j, LOG_LVL_ERR,
		     "writing changeset %" PRIu32 " to %" PRIu32 ": %s (kept in memory, the file "
		     "rewritten at the next change)",
		     cs->from, cs->to, strerror(-rc));
	}
	changeset_ref(cs);
	chain_publish(j, drop, &e, gone);
	release_all(gone, drop);
	free(gone);
	return 0;
}

size_t journal_find(const struct journal *j, uint32_t from_serial, uint32_t to_serial,
		    struct changeset ***out)
{
	*out = NULL;
	if (from_serial == to_serial)
		return 0;
	/* The lock is the journal's, not the caller's data: taking it does
	 * not change what the const promises. */
	pthread_mutex_t *lock = (pthread_mutex_t *)&j->lock;
	size_t n = 0;
	pthread_mutex_lock(lock);
	/* the newest entry ending at to_serial, then back to the nearest one
	 * starting at from_serial: the chain in between is consecutive */
	size_t end = j->n;
	while (end > 0 && j->ents[end - 1].cs->to != to_serial)
		end--;
	size_t start = end;
	while (start > 0 && j->ents[start - 1].cs->from != from_serial)
		start--;
	if (end > 0 && start > 0) {
		start--;
		end--;
		n = end - start + 1;
		struct changeset **v = malloc(n * sizeof(*v));
		if (v) {
			for (size_t i = 0; i < n; i++) {
				v[i] = j->ents[start + i].cs;
				changeset_ref(v[i]);
			}
			*out = v;
		} else {
			n = 0;
		}
	}
	pthread_mutex_unlock(lock);
	return n;
}

void journal_chain_free(struct changeset **chain, size_t n)
{
	for (size_t i = 0; i < n; i++)
		changeset_unref(chain[i]);
	free(chain);
}

int journal_move(struct journal *j, const char *path)
{
	char *np = strdup(path);
	if (!np)
		return -ENOMEM;
	if (rename(j->path, path) < 0 && errno != ENOENT) {
		int e = errno;
		free(np);
		return -e;
	}
	/* the open descriptor follows the file; rewrites go to the new name */
	free(j->path);
	j->path = np;
	int rc = fsync_dir_of(path);
	if (rc < 0)
		jlog(j, LOG_LVL_WARN, "fsync of its directory: %s", strerror(-rc));
	return 0;
}

void journal_break(struct journal *j, uint32_t serial)
{
	if (j->n)
		jlog(j, LOG_LVL_INFO,
		     "break at serial %" PRIu32 ": changesets from %" PRIu32 " to %" PRIu32
		     " dropped (%zu)",
		     serial, j->ents[0].cs->from, j->ents[j->n - 1].cs->to, j->n);
	else
		jlog(j, LOG_LVL_DEBUG, "break at serial %" PRIu32 " (empty already)", serial);
	chain_clear(j);
}

bool journal_first_serial(const struct journal *j, uint32_t *serial)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&j->lock;
	pthread_mutex_lock(lock);
	bool any = j->n > 0;
	if (any)
		*serial = j->ents[0].cs->from;
	pthread_mutex_unlock(lock);
	return any;
}

bool journal_last_serial(const struct journal *j, uint32_t *serial)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&j->lock;
	pthread_mutex_lock(lock);
	bool any = j->n > 0;
	if (any)
		*serial = j->ents[j->n - 1].cs->to;
	pthread_mutex_unlock(lock);
	return any;
}

size_t journal_depth(const struct journal *j)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&j->lock;
	pthread_mutex_lock(lock);
	size_t n = j->n;
	pthread_mutex_unlock(lock);
	return n;
}

size_t journal_usage(const struct journal *j)
{
	pthread_mutex_t *lock = (pthread_mutex_t *)&j->lock;
	pthread_mutex_lock(lock);
	size_t u = j->usage;
	pthread_mutex_unlock(lock);
	return u;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->dirty) {
		int rc = file_rewrite(j, j->ents, j->n, NULL);
		if (rc < 0)
			jlog(j, LOG_LVL_ERR, "rewriting at close: %s", strerror(-rc));
	}
	for (size_t i = 0; i < j->n; i++)
		changeset_unref(j->ents[i].cs);
	free(j->ents);
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}
