/* zone_save.c: a zone version as a zone file (zone_save.h). */
#include "zone/zone_save.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/dname.h"

/* Text is gathered in one ldns_buffer and written when it holds this
 * much: 1 MiB per write(2), about 25,000 lines of a plain zone. */
#define SAVE_FLUSH ((size_t)1 << 20)

/* The text buffer's first capacity: a small zone's whole text. */
#define SAVE_OUT_START ((size_t)16 << 10)

/* A record as ldns_wire2rr reads it: the owner, the fixed part, rdata. */
#define SAVE_RR_MAX (DNAME_MAX + RR_FIXED_LEN + UINT16_MAX)

/* Slots ahead of the walk whose node, and nodes whose RRsets, are
 * prefetched, as axfr.c does: the table is walked in hash order, so every
 * node is a cache miss of its own (a half-full table: 16 slots are about 8
 * nodes). */
#define SAVE_PREFETCH_NODE 16
#define SAVE_PREFETCH_SETS 8

/*
 * A line is what ldns_rr2buffer_str_fmt(ldns_output_format_nocomments)
 * makes of the record, octet for octet (the unit test compares them), put
 * together here so that the parts that repeat are formatted once:
 *
 *     owner \t TTL \t CLASS \t TYPE \t rdata fields joined by " " \n
 *     owner \t TTL \t CLASS \t TYPE \t \# 0 \n          (no rdata fields)
 *
 * The owner's text (ldns_rdf2buffer_str_dname, which prints a name one
 * character at a time through printf: 0.9 us for "h123456.bench.test.")
 * once per name, "\tCLASS\tTYPE" once per RRset, the TTL here. The rdata fields are
 * ldns's: for A, AAAA, NS, CNAME, PTR and DNAME, whose rdata is one field,
 * ldns_rdf2buffer_str on the rdata in place; for every other type
 * ldns_wire2rr splits it into fields (an allocation per field).
 */
struct saver {
	int fd;
	const char *tmp;	/* the file written, for messages */
	ldns_buffer *out;	/* text not written yet */
	ldns_buffer *owner;	/* the current owner's text */
	ldns_buffer *set;	/* "\tCLASS\tTYPE" of the current RRset */
	uint16_t set_type, set_class;
	bool set_valid;
	char *why;
	size_t whysize;
	size_t owner_len;	/* rr[0..owner_len): the current owner, wire */
	uint8_t rr[SAVE_RR_MAX];
};

static int fail(struct saver *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill s->why with "<what>: <strerror>"; returns -err. */
static int fail(struct saver *s, int err, const char *fmt, ...)
{
	if (s->why && s->whysize) {
		char what[PATH_MAX + 64];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(s->why, s->whysize, "%s: %s", what, strerror(err));
	}
	return -err;
}

static int no_memory(struct saver *s)
{
	return fail(s, ENOMEM, "format %s", s->tmp);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int flush(struct saver *s)
{
	const uint8_t *p = ldns_buffer_begin(s->out);
	size_t left = ldns_buffer_position(s->out);
	while (left) {
		ssize_t k = write(s->fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(s, errno, "write %s", s->tmp);
		p += k;
		left -= (size_t)k;
	}
	ldns_buffer_clear(s->out);
	return 0;
}

/* An ldns_rdf over octets in place: nothing copied, nothing to free
 * (ldns only reads them). */
static ldns_rdf rdf_at(ldns_rdf_type type, const uint8_t *data, size_t len)
{
	return (ldns_rdf){._size = len, ._type = type, ._data = (void *)(uintptr_t)data};
}

/* Append the text in `b` to s->out (room reserved by the caller). */
static void put_text(struct saver *s, const ldns_buffer *b)
{
	ldns_buffer_write(s->out, ldns_buffer_begin(b), ldns_buffer_position(b));
}

/* "\t" and a TTL in decimal, as ldns's "\t%u". */
static void put_ttl(struct saver *s, uint32_t ttl)
{
	char d[11];
	size_t n = sizeof(d);
	do {
		d[--n] = (char)('0' + ttl % 10);
		ttl /= 10;
	} while (ttl);
	ldns_buffer_write_u8(s->out, '\t');
	ldns_buffer_write(s->out, d + n, sizeof(d) - n);
}

/* A name in rdata that ldns cannot read back in any spelling: its first
 * label is "@" (ldns 1.8 takes such a name, "\@.x." too, for the origin). */
static bool at_name(const uint8_t *name, size_t len)
{
	return len > 2 && name[0] == 1 && name[1] == '@';
}

/* The ldns rdf type of the one field of a record of `type`, when its
 * rdata is exactly that field (as ldns_wire2rr would find it), else
 * LDNS_RDF_TYPE_NONE: the rdata goes through ldns_wire2rr. */
static ldns_rdf_type single_field(uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	switch (type) {
	case RRTYPE_A:
		return rdlen == 4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_NONE;
	case RRTYPE_AAAA:
		return rdlen == 16 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_NONE;
	case RRTYPE_NS:
	case RRTYPE_CNAME:
	case RRTYPE_PTR:
	case RRTYPE_DNAME:
		return dname_wire_len(rd, rdlen) == rdlen && !at_name(rd, rdlen)
			       ? LDNS_RDF_TYPE_DNAME
			       : LDNS_RDF_TYPE_NONE;
	default:
		return LDNS_RDF_TYPE_NONE;
	}
}

/* The RFC 3597 §5 form of the rdata of a record ldns cannot read from its
 * wire (none the loader makes) or whose text it would misread (at_name):
 * "owner TTL CLASS TYPE \# len hex". */
static int put_generic(struct saver *s, const uint8_t *rec)
{
	static const char hex[] = "0123456789abcdef";
	uint16_t rdlen = get16(rec + 8);
	if (!ldns_buffer_reserve(s->out, ldns_buffer_position(s->owner) + 11 +
						 ldns_buffer_position(s->set)))
		return no_memory(s);
	put_text(s, s->owner);
	put_ttl(s, get32(rec + 4));
	put_text(s, s->set);
	ldns_buffer_printf(s->out, "\t\\# %u", rdlen);
	if (!ldns_buffer_reserve(s->out, 2 * (size_t)rdlen + 2))
		return no_memory(s);
	if (rdlen)
		ldns_buffer_write_u8(s->out, ' ');
	for (uint16_t i = 0; i < rdlen; i++) {
		uint8_t b = rec[RR_FIXED_LEN + i];
		ldns_buffer_write_u8(s->out, (uint8_t)hex[b >> 4]);
		ldns_buffer_write_u8(s->out, (uint8_t)hex[b & 15]);
	}
	ldns_buffer_write_u8(s->out, '\n');
	return ldns_buffer_status_ok(s->out) ? 0 : no_memory(s);
}

/* The rdata fields of `rec` as ldns splits them (ldns_wire2rr), after a
 * tab. \return 0, 1 when ldns cannot read them from the wire or would not
 * read its text back (at_name), or -ENOMEM */
static int put_fields(struct saver *s, const uint8_t *rec, size_t len)
{
	memcpy(s->rr + s->owner_len, rec, len);
	ldns_rr *rr = NULL;
	size_t pos = 0;
	if (ldns_wire2rr(&rr, s->rr, s->owner_len + len, &pos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK ||
	    pos != s->owner_len + len) {
		ldns_rr_free(rr);
		return 1;
	}
	size_t n = ldns_rr_rd_count(rr);
	for (size_t i = 0; i < n; i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME &&
		    at_name(ldns_rdf_data(f), ldns_rdf_size(f))) {
			ldns_rr_free(rr);
			return 1;
		}
	}
	ldns_status st = LDNS_STATUS_OK;
	if (n == 0)
		ldns_buffer_printf(s->out, "\t\\# 0");
	for (size_t i = 0; i < n && st == LDNS_STATUS_OK; i++) {
		if (!ldns_buffer_reserve(s->out, 1)) {
			st = LDNS_STATUS_MEM_ERR;
			break;
		}
		ldns_buffer_write_u8(s->out, i ? ' ' : '\t');
		st = ldns_rdf2buffer_str(s->out, ldns_rr_rdf(rr, i));
	}
	ldns_rr_free(rr);
	return st == LDNS_STATUS_OK ? 0 : -ENOMEM;
}

/* "\tCLASS\tTYPE" of records of `type` and `rrclass`, as ldns names them. */
static int set_text(struct saver *s, uint16_t type, uint16_t rrclass)
{
	if (s->set_valid && s->set_type == type && s->set_class == rrclass)
		return 0;
	ldns_buffer_clear(s->set);
	ldns_buffer_write_u8(s->set, '\t');
	if (ldns_rr_class2buffer_str(s->set, (ldns_rr_class)rrclass) != LDNS_STATUS_OK)
		return no_memory(s);
	ldns_buffer_write_u8(s->set, '\t');
	if (ldns_rr_type2buffer_str(s->set, (ldns_rr_type)type) != LDNS_STATUS_OK)
		return no_memory(s);
	s->set_type = type;
	s->set_class = rrclass;
	s->set_valid = true;
	return 0;
}

/* One record (TYPE CLASS TTL RDLEN RDATA) of the current owner as one
 * line. */
static int put_record(struct saver *s, const uint8_t *rec)
{
	uint16_t type = get16(rec), rdlen = get16(rec + 8);
	const uint8_t *rd = rec + RR_FIXED_LEN;
	size_t at = ldns_buffer_position(s->out);
	int rc;
	if ((rc = set_text(s, type, get16(rec + 2))) < 0)
		return rc;
	/* owner, tab and TTL (11), class and type, tab (1) */
	if (!ldns_buffer_reserve(s->out, ldns_buffer_position(s->owner) + 11 +
						 ldns_buffer_position(s->set) + 1))
		return no_memory(s);
	put_text(s, s->owner);
	put_ttl(s, get32(rec + 4));
	put_text(s, s->set);
	ldns_rdf_type one = single_field(type, rd, rdlen);
	if (one != LDNS_RDF_TYPE_NONE) {
		ldns_rdf f = rdf_at(one, rd, rdlen);
		ldns_buffer_write_u8(s->out, '\t');
		rc = ldns_rdf2buffer_str(s->out, &f) == LDNS_STATUS_OK ? 0 : -ENOMEM;
	} else {
		rc = put_fields(s, rec, RR_FIXED_LEN + (size_t)rdlen);
	}
	if (rc > 0) {
		ldns_buffer_set_position(s->out, at); /* the line again, in RFC 3597 form */
		rc = put_generic(s, rec);
	} else if (rc == 0 && ldns_buffer_reserve(s->out, 1)) {
		ldns_buffer_write_u8(s->out, '\n');
	} else {
		rc = -ENOMEM;
	}
	if (rc < 0)
		return no_memory(s);
	if (ldns_buffer_position(s->out) >= SAVE_FLUSH)
		return flush(s);
	return 0;
}

/* The owner's text as ldns writes it, with one fix: ldns writes '@' and
 * '$' as they are, and reads an owner that starts with '@' as the origin
 * (ldns 1.8: "@x.example." is example.), a line that starts with '$' is a
 * directive to other readers: either is escaped there. */
static int set_owner(struct saver *s, const uint8_t *name, size_t len)
{
	memcpy(s->rr, name, len);
	s->owner_len = len;
	ldns_rdf d = rdf_at(LDNS_RDF_TYPE_DNAME, name, len);
	ldns_buffer_clear(s->owner);
	if (len > 1 && (name[1] == '@' || name[1] == '$'))
		ldns_buffer_write_u8(s->owner, '\\');
	return ldns_rdf2buffer_str_dname(s->owner, &d) == LDNS_STATUS_OK ? 0 : no_memory(s);
}

static int put_set(struct saver *s, const struct rrset *rs)
{
	const uint8_t *w = rs->wire;
	for (uint16_t k = 0; k < rs->count; k++) {
		int rc = put_record(s, w);
		if (rc < 0)
			return rc;
		w += RR_FIXED_LEN + (size_t)get16(w + 8);
	}
	return 0;
}

static int put_header(struct saver *s, const struct zone *z, const char *note)
{
	struct timespec now;
	struct tm tm;
	char when[32] = "?";
	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ldns_buffer_printf(s->out, "; zone ");
	if (!ldns_buffer_reserve(s->out, ldns_buffer_position(s->owner)))
		return no_memory(s);
	put_text(s, s->owner); /* the apex */
	ldns_buffer_printf(s->out, " serial %" PRIu32 ", written by shoal " SHOAL_VERSION " %s\n",
			   z->serial, when);
	if (note)
		ldns_buffer_printf(s->out, "; %s\n", note);
	return ldns_buffer_status_ok(s->out) ? 0 : no_memory(s);
}

static void prefetch(const struct zone *z, size_t i)
{
	size_t a = i + SAVE_PREFETCH_NODE, b = i + SAVE_PREFETCH_SETS;
	const struct node *n;
	if (a <= z->mask && (n = zone_slot_at(z, a)->node))
		__builtin_prefetch(n);
	if (b <= z->mask && (n = zone_slot_at(z, b)->node))
		zone_prefetch_rrsets(n);
}

/* The SOA, then every record of the table but the SOA, in slot order (as
 * axfr.c sends them). */
static int put_zone(struct saver *s, const struct zone *z, const char *note)
{
	int rc;
	if ((rc = set_owner(s, z->apex, z->apex_len)) < 0 || (rc = put_header(s, z, note)) < 0 ||
	    (rc = put_set(s, z->soa)) < 0)
		return rc;
	for (size_t i = 0; i <= z->mask; i++) {
		prefetch(z, i);
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n || !n->nrrsets)
			continue; /* a free slot, an empty non-terminal */
		if ((rc = set_owner(s, n->name, n->name_len)) < 0)
			return rc;
		for (uint16_t k = 0; k < n->nrrsets; k++) {
			const struct rrset *rs = &n->rrsets[k];
			if (n == z->apex_node && rs->type == RRTYPE_SOA)
				continue;
			if ((rc = put_set(s, rs)) < 0)
				return rc;
		}
	}
	return flush(s);
}

/* The directory of `path`, into dir. */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, slash ? path : ".", n);
	dir[n] = 0;
	return 0;
}

int zone_save(const struct zone *z, const char *path, const char *note, char *why,
	      size_t whysize)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int rc, fd = -1;
	bool made = false;
	struct saver *s = malloc(sizeof(*s));
	if (!s) {
		if (why && whysize)
			snprintf(why, whysize, "save %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	s->why = why;
	s->whysize = whysize;
	s->tmp = tmp;
	s->fd = -1;
	s->out = s->owner = s->set = NULL;
	s->set_valid = false;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)) < 0) {
		rc = fail(s, ENAMETOOLONG, "save %s", path);
		goto out;
	}
	/* grown by reserve as lines are added, to one flush and the longest
	 * line after it: a small zone's save does not map and trim 1.3 MB */
	s->out = ldns_buffer_new(SAVE_OUT_START);
	s->owner = ldns_buffer_new(4 * DNAME_MAX);
	s->set = ldns_buffer_new(64);
	if (!s->out || !s->owner || !s->set) {
		rc = fail(s, ENOMEM, "save %s", path);
		goto out;
	}
	/* Whatever is at the temporary name (a file left by a crash, a
	 * symlink planted there) is removed, not written through: O_EXCL
	 * makes a new file or fails. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0 && errno != ENOENT) {
			rc = fail(s, errno, "unlink %s", tmp);
			goto out;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	}
	if (fd < 0) {
		rc = fail(s, errno, "open %s", tmp);
		goto out;
	}
	made = true;
	s->fd = fd;
	if ((rc = put_zone(s, z, note)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = fail(s, errno, "fsync %s", tmp);
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = fail(s, errno, "close %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = fail(s, errno, "rename %s to %s", tmp, path);
		goto out;
	}
	made = false;
	/* The folder is not synced: rename(2) is atomic, so a crash leaves
	 * the old copy or the whole new one; the old one is then refreshed
	 * from the primary (and its journal) like any stale copy. A folder
	 * sync per save cost thousands of catalog members a third of their
	 * first transfers' time; Knot syncs neither the file nor the folder. */
	(void)dir;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	if (s->out)
		ldns_buffer_free(s->out);
	if (s->owner)
		ldns_buffer_free(s->owner);
	if (s->set)
		ldns_buffer_free(s->set);
	free(s);
	return rc;
}
