/* primary.c: serial checks, differences, the journal and NOTIFY for the
 * zones a file gives new versions of (primary.h). */
#include "xfr/primary.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dns/dname.h"
#include "ops/log.h"
#include "xfr/notify.h"
#include "zone/journal.h"
#include "zone/serial.h"
#include "zone/zone.h"
#include "zone/zone_diff.h"

/* What the serial file keeps: the serial the file had, the one served
 * for it (raised by serial-policy), and the file's size and modification
 * time, to tell the same file after a restart. */
struct serial_state {
	uint32_t file_serial, served;
	int64_t size, mtime_ns;
	uint8_t digest[32]; /* SHA-256 of the file */
	bool has_digest;
};

/* SHA-256 of a file's octets: a file touched (new modification time, same
 * octets) is not a file changed. \return 0, or -1 (unreadable) */
static int file_digest(const char *path, uint8_t out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ret = -1;
	static uint8_t buf[1 << 16];
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (EVP_DigestUpdate(c, buf, (size_t)n) != 1)
				break;
		unsigned len = 0;
		if (n == 0 && EVP_DigestFinal_ex(c, out, &len) == 1 && len == 32)
			ret = 0;
	}
	EVP_MD_CTX_free(c);
	close(fd);
	return ret;
}

/* A zone's state (one per zone: a catalog's thousands of members). A
 * file's path is kept (`kept`) only while the file is there or may be: a
 * relocation must know where it is once the configuration names another
 * place. Otherwise the path is the configuration's (conf_storage_file),
 * made when needed:
 *   - the journal's once found absent there (no_file: relocate looks
 *     for it again at the new place); without no_file, the
 *     configuration gave none when the state was made (a path too long,
 *     out of memory): the zone has no journal;
 *   - the serial file's when the file was absent as the state was made
 *     and has not been written since (remember keeps the path first).
 * A member that only ever gets AXFRs keeps neither: 24 octets, one
 * malloc chunk of glibc's smallest size (32). */
struct primary_zone {
	struct journal *journal;
	char *kept;	     /* the journal's path, then the serial file's, each
			      * NUL-terminated, "" when not kept; NULL: neither */
	bool notify_pending; /* a new serial to announce once published */
	bool break_at_open;  /* the journal's chain leads to content gone */
	bool no_file;	     /* the journal was found absent: it is opened
			      * when a difference is to be written */
};

static const char *kept_journal(const struct primary_zone *pz)
{
	return pz->kept && pz->kept[0] ? pz->kept : NULL;
}

static const char *kept_serial(const struct primary_zone *pz)
{
	const char *sp = pz->kept ? pz->kept + strlen(pz->kept) + 1 : NULL;
	return sp && sp[0] ? sp : NULL;
}

/* `j` and `sp` (NULL: not kept; either may be one kept now) as the block
 * `kept` is, in *out (NULL: neither). \return false: out of memory */
static bool kept_make(const char *j, const char *sp, char **out)
{
	*out = NULL;
	if (!j && !sp)
		return true;
	size_t jl = j ? strlen(j) : 0, sl = sp ? strlen(sp) : 0;
	char *k = malloc(jl + sl + 2);
	if (!k)
		return false;
	memcpy(k, j ? j : "", jl + 1);
	memcpy(k + jl + 1, sp ? sp : "", sl + 1);
	*out = k;
	return true;
}

/* Keep `j` and `sp` (as kept_make). \return false: out of memory, the
 * paths kept unchanged */
static bool keep(struct primary_zone *pz, const char *j, const char *sp)
{
	char *k;
	if (!kept_make(j, sp, &k))
		return false;
	free(pz->kept);
	pz->kept = k;
	return true;
}

/* The configuration's path of the journal (or the serial file), kept
 * before that file is made. \return the path kept; NULL: none (no cz, no
 * path, out of memory) */
static const char *keep_new(struct primary_zone *pz, const struct conf_zone *cz, bool journal)
{
	char *c = cz ? conf_storage_file(cz, journal ? ".journal" : ".serial") : NULL;
	bool ok = c && (journal ? keep(pz, c, kept_serial(pz)) : keep(pz, kept_journal(pz), c));
	free(c);
	if (!ok)
		return NULL;
	return journal ? kept_journal(pz) : kept_serial(pz);
}

/* The zone's journal was found absent at the path kept: when that is the
 * configuration's, the path is made again when needed, not kept. */
static void journal_absent(struct primary_zone *pz, const struct conf_zone *cz)
{
	pz->no_file = true;
	const char *kj = kept_journal(pz);
	char *j = kj ? conf_storage_file(cz, ".journal") : NULL;
	if (j && !strcmp(j, kj))
		keep(pz, NULL, kept_serial(pz));
	free(j);
}

struct closing {
	struct journal *journal;
	struct closing *next;
};

struct primary {
	struct notifier *notifier;
	const struct conf *conf;
	bool relocate;	/* a new configuration: storage may have moved */
	struct closing *closing; /* journals of zones gone, closed after a grace period */
};

struct primary *primary_new(struct notifier *notifier)
{
	struct primary *p = calloc(1, sizeof(*p));
	if (p)
		p->notifier = notifier;
	return p;
}

void primary_set_notifier(struct primary *p, struct notifier *n)
{
	if (p)
		p->notifier = n;
}

void primary_set_conf(struct primary *p, const struct conf *c)
{
	if (!p)
		return;
	p->conf = c;
	p->relocate = true;
}

/* A zone's storage moved (a reload, a catalog member taking another
 * template): its journal and serial file follow, renamed. A file without
 * a path kept is not there (struct primary_zone): nothing to move, but a
 * journal found absent is looked for again where the configuration says
 * now (one put there by hand, or the zone's storage back where it had
 * one), as one moved is. The new path is kept before the rename: a moved
 * file is never lost track of. */
static void relocate(struct primary_zone *pz, const struct conf_zone *cz)
{
	const char *kj = kept_journal(pz);
	char *k, *j = NULL;
	if (kj || pz->no_file)
		j = conf_storage_file(cz, ".journal");
	if (j && !kj) {
		if (access(j, F_OK) == 0 && keep(pz, j, kept_serial(pz)))
			pz->no_file = false; /* opened by primary_prepare */
		free(j);
		j = NULL;
	}
	if (j && strcmp(j, kj) && kept_make(j, kept_serial(pz), &k)) {
		int r = 0;
		if (pz->journal)
			r = journal_move(pz->journal, j);
		else if (rename(kj, j) < 0 && errno != ENOENT)
			r = -errno;
		if (r < 0) {
			log_warn("zone %s: moving its journal %s to %s: %s; it stays there",
				 cz->name, kj, j, strerror(-r));
			free(k);
		} else {
			free(pz->kept);
			pz->kept = k;
			pz->no_file = false; /* looked for again there */
		}
	}
	free(j);
	const char *ks = kept_serial(pz);
	char *sp = ks ? conf_storage_file(cz, ".serial") : NULL;
	if (sp && strcmp(sp, ks) && kept_make(kept_journal(pz), sp, &k)) {
		if (rename(ks, sp) < 0 && errno != ENOENT) {
			log_warn("zone %s: moving %s to %s: %s", cz->name, ks, sp,
				 strerror(errno));
			free(k);
		} else {
			free(pz->kept);
			pz->kept = k;
		}
	}
	free(sp);
}

static const struct conf_zone *zone_conf(const struct primary *p, const struct zone_state *s)
{
	return p->conf ? conf_zone_find(p->conf, s->apex, s->apex_len) : NULL;
}

/* The zone is transferred out: an acl allows transfer, or NOTIFY goes
 * somewhere. */
static bool has_transfers(const struct conf_zone *cz)
{
	if (!cz)
		return false;
	if (cz->set->nnotify)
		return true;
	for (size_t i = 0; i < cz->set->nacl; i++)
		if ((cz->set->acl[i]->actions & CONF_ACTION_TRANSFER) && !cz->set->acl[i]->deny)
			return true;
	return false;
}

static void journal_log(void *ctx, enum log_level level, const char *msg)
{
	(void)ctx;
	log_msg(level, "%s", msg);
}

static bool serial_read(const char *path, struct serial_state *st)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char hex[65] = "";
	int n = fscanf(f, "%" SCNu32 " %" SCNu32 " %" SCNd64 " %" SCNd64 " %64s", &st->file_serial,
		       &st->served, &st->size, &st->mtime_ns, hex);
	bool ok = n >= 4;
	fclose(f);
	st->has_digest = n == 5 && strlen(hex) == 64;
	for (size_t i = 0; st->has_digest && i < 32; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			st->has_digest = false;
		st->digest[i] = (uint8_t)v;
	}
	if (!ok)
		log_warn("%s: not a serial file (file serial, served serial, size, mtime); ignored",
			 path);
	return ok;
}

/* Written as a temporary file, synced, renamed over the old one. */
static void serial_write(const char *path, const struct serial_state *st)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("%s: %s: the raised serial is not kept across a restart", tmp,
			strerror(errno));
		return;
	}
	char line[192], hex[65] = "-";
	for (size_t i = 0; st->has_digest && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", st->digest[i]);
	int n = snprintf(line, sizeof(line), "%" PRIu32 " %" PRIu32 " %" PRId64 " %" PRId64 " %s\n",
			 st->file_serial, st->served, st->size, st->mtime_ns, hex);
	bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_err("%s: %s: the raised serial is not kept across a restart", path,
			strerror(errno));
		unlink(tmp);
		return;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
}

static int64_t mtime_ns(const struct zone *z)
{
	return (int64_t)z->file_mtime.tv_sec * 1000000000 + z->file_mtime.tv_nsec;
}

/* The serial that serial-policy gives after `old`. */
static uint32_t next_serial(enum conf_serial_policy pol, uint32_t old)
{
	if (pol == CONF_SERIAL_UNIXTIME) {
		uint32_t now = (uint32_t)time(NULL);
		if (serial_newer(now, old))
			return now;
	}
	return old + 1; /* RFC 1982 §3.1: wraps */
}

/* Release a version nobody holds (refs 0). */
static void release(struct zone *z)
{
	zone_ref(z);
	zone_unref(z);
}

/* Where the serial is in an SOA set's record (type, class, TTL, RDLENGTH,
 * then RDATA: two names, then the serial), or 0 when its RDATA does not
 * read as an SOA's. */
static size_t soa_serial_at(const struct rrset *soa)
{
	const uint8_t *w = soa->wire;
	size_t rdlen = (size_t)(w[8] << 8 | w[9]);
	const uint8_t *rd = w + RR_FIXED_LEN;
	size_t m = dname_wire_len(rd, rdlen);
	size_t r = m ? dname_wire_len(rd + m, rdlen - m) : 0;
	if (!m || !r || m + r + 20 != rdlen)
		return 0;
	return RR_FIXED_LEN + m + r;
}

/* `z` with its SOA serial set to `serial`: the next version of its
 * lineage, the SOA record replaced. NULL (logged) when it cannot be made. */
static struct zone *with_serial(struct zone *z, uint32_t serial, const char *name)
{
	const struct rrset *soa = z->soa;
	const uint8_t *w = soa->wire;
	uint16_t rdlen = (uint16_t)(w[8] << 8 | w[9]);
	const uint8_t *rd = w + RR_FIXED_LEN;
	size_t at = soa_serial_at(soa);
	if (!at) {
		log_err("zone %s: its SOA cannot be read to raise the serial", name);
		return NULL;
	}
	uint8_t nrd[DNAME_MAX * 2 + 20];
	memcpy(nrd, rd, rdlen);
	uint8_t *sp = nrd + (at - RR_FIXED_LEN);
	sp[0] = (uint8_t)(serial >> 24);
	sp[1] = (uint8_t)(serial >> 16);
	sp[2] = (uint8_t)(serial >> 8);
	sp[3] = (uint8_t)serial;
	char msg[256] = "";
	struct zone_update *u = zone_update_begin(z);
	if (!u || zone_update_change(u, true, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, rd, rdlen,
				     msg, sizeof(msg)) == ZB_ERROR ||
	    zone_update_change(u, false, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, nrd, rdlen, msg,
			       sizeof(msg)) == ZB_ERROR) {
		if (u)
			zone_update_abort(u);
		log_err("zone %s: cannot raise the serial: %s", name, msg[0] ? msg : "out of memory");
		return NULL;
	}
	struct zone *n = zone_update_commit(u, msg, sizeof(msg));
	if (!n)
		log_err("zone %s: cannot raise the serial: %s", name, msg);
	return n;
}

static struct primary_zone *zone_state_of(struct zone_state *s, const struct conf_zone *cz)
{
	struct primary_zone *pz = s->xfr;
	if (pz)
		return pz;
	/* the journal's path kept until the journal is found absent
	 * (open_journal, secondary_first: at once for a secondary), the
	 * serial file's only when the file is there (a path that cannot be
	 * made, too long: none) */
	char *j = conf_storage_file(cz, ".journal"), *sp = conf_storage_file(cz, ".serial");
	if (sp && access(sp, F_OK) < 0 && errno == ENOENT) {
		free(sp);
		sp = NULL;
	}
	pz = calloc(1, sizeof(*pz));
	if (pz && !kept_make(j, sp, &pz->kept)) {
		free(pz);
		pz = NULL;
	}
	if (pz)
		s->xfr = pz;
	free(j);
	free(sp);
	return pz;
}

/* Open the zone's journal, unless it has no file and nothing is to be
 * written to it (`write` false): an empty journal serves no IXFR, so a
 * zone of a catalog's thousands that only ever gets AXFRs holds none
 * (NULL, like a zone without transfers: the workers answer an IXFR with
 * the whole zone either way). Once found absent, the file is not looked
 * for again: only this zone's journal makes it. */
static void open_journal(struct primary_zone *pz, const struct conf_zone *cz, uint32_t served,
			 bool write)
{
	const char *j = kept_journal(pz);
	if (pz->journal || (!j && !pz->no_file) || (!write && pz->no_file))
		return;
	if (!write && access(j, F_OK) < 0 && errno == ENOENT) {
		journal_absent(pz, cz);
		return;
	}
	/* the file about to be made: its path kept first (out of memory:
	 * not opened, as when journal_open fails) */
	if (!j && !(j = keep_new(pz, cz, true)))
		return;
	pz->no_file = false;
	pz->journal = journal_open(j, served, cz->set->journal_depth,
				   (size_t)cz->set->journal_usage, journal_log, NULL);
}

/* Remember what is served for the file: its serial and identity, and the
 * serial served for it (raised or not), for the next start. */
static void remember(struct primary_zone *pz, const struct conf_zone *cz, uint32_t file_serial,
		     const struct zone *use)
{
	/* the file about to be made: its path kept first (none, or out of
	 * memory: not written) */
	const char *sp = kept_serial(pz);
	if (!sp && !(sp = keep_new(pz, cz, false)))
		return;
	struct serial_state st = {.file_serial = file_serial,
				  .served = use->serial,
				  .size = (int64_t)use->file_size,
				  .mtime_ns = mtime_ns(use)};
	/* the file as read (a change after the read is seen by the next one) */
	st.has_digest = use->source && file_digest(use->source, st.digest) == 0;
	serial_write(sp, &st);
}

/* The first version of a zone this run (start, or the zone added). What
 * was served before the restart (the serial file) decides:
 *   - the same file (serial, size, modification time): the serial served
 *     then is served again (raised by serial-policy, or the file's);
 *   - a file changed meanwhile with a serial newer than the one served:
 *     served as it is (the journal, ending at the old serial, is dropped
 *     when opened: a break);
 *   - a file changed meanwhile whose serial is not newer: raised past the
 *     one served (serial-policy), or, with keep, served as it is with a
 *     warning, and the journal broken: its differences end at a serial
 *     whose content is gone. */
static struct zone *first_version(struct primary_zone *pz, const struct conf_zone *cz,
				  struct zone_state *s, struct zone *fresh)
{
	struct zone *use = fresh;
	uint32_t file_serial = fresh->serial;
	enum conf_serial_policy pol = cz->set->serial_policy;
	struct serial_state st;
	/* no path kept: no file (struct primary_zone) */
	if (kept_serial(pz) && serial_read(kept_serial(pz), &st)) {
		bool same_file = st.file_serial == fresh->serial &&
				 st.size == (int64_t)fresh->file_size && st.mtime_ns == mtime_ns(fresh);
		uint8_t d[32];
		if (!same_file && st.file_serial == fresh->serial &&
		    st.size == (int64_t)fresh->file_size && st.has_digest && fresh->source &&
		    file_digest(fresh->source, d) == 0 && !memcmp(d, st.digest, 32))
			same_file = true; /* touched: the same octets */
		uint32_t serial = fresh->serial;
		if (same_file && pol != CONF_SERIAL_KEEP) {
			serial = st.served;
		} else if (!same_file && !serial_newer(fresh->serial, st.served)) {
			if (pol != CONF_SERIAL_KEEP) {
				serial = next_serial(pol, st.served);
			} else {
				log_warn("zone %s: %s changed while shoal was down but its serial %u is "
					 "not newer than the one served then, %u: secondaries at %u will "
					 "not see the change (raise the serial)",
					 s->name, s->file, fresh->serial, st.served, st.served);
			}
			pz->break_at_open = true;
		}
		if (serial != fresh->serial) {
			struct zone *n = with_serial(fresh, serial, s->name);
			if (n) {
				log_info("zone %s: file serial %u served as %u (serial-policy %s%s)",
					 s->name, fresh->serial, serial, conf_serial_policy_name(pol),
					 same_file ? ", as before the restart"
						   : ", the file changed while shoal was down");
				release(fresh);
				use = n;
			}
		}
	}
	remember(pz, cz, file_serial, use);
	/* The journal is opened by primary_prepare, after the privileges
	 * are dropped (its file must stay writable by the user we run as);
	 * one not ending at the serial served is a break, dropped. */
	pz->notify_pending = true; /* as BIND does at start: secondaries check */
	return use;
}

/* The SOAs differ in more than the serial (a timer, a name, the TTL): a
 * change of content too, which the difference's lists leave out. */
static bool soa_differs(const struct zone *a, const struct zone *b)
{
	const struct rrset *x = a->soa, *y = b->soa;
	if (x->ttl != y->ttl || x->wire_len != y->wire_len)
		return true;
	const uint8_t *w = x->wire, *v = y->wire;
	size_t serial = soa_serial_at(x);
	if (!serial)
		return memcmp(w, v, x->wire_len) != 0;
	return memcmp(w, v, serial) || memcmp(w + serial + 4, v + serial + 4,
						 x->wire_len - serial - 4);
}

/* A secondary's saved copy, read at start: its journal may hold the
 * changes received after the copy was written; they are replayed, so the
 * zone serves what it served before the restart and its journal ends at
 * it. A chain that cannot be replayed is cut. */
static struct zone *secondary_first(struct primary_zone *pz, const struct conf_zone *cz,
				    struct zone_state *s, struct zone *fresh)
{
	/* no path kept: none, or found absent (nothing to replay) */
	const char *j = kept_journal(pz);
	if (pz->journal || !j)
		return fresh;
	if (access(j, F_OK) < 0 && errno == ENOENT) {
		journal_absent(pz, cz); /* nothing to replay: opened by a first write */
		return fresh;
	}
	pz->journal = journal_open_ahead(j, fresh->serial, cz->set->journal_depth,
					 (size_t)cz->set->journal_usage, journal_log, NULL);
	uint32_t last;
	if (!pz->journal || !journal_last_serial(pz->journal, &last) || last == fresh->serial)
		return fresh;
	struct changeset **chain = NULL;
	size_t n = journal_find(pz->journal, fresh->serial, last, &chain);
	struct zone *cur = fresh;
	char msg[512] = "";
	size_t done = 0;
	for (; done < n; done++) {
		struct zone *next = NULL;
		if (changeset_apply(cur, chain[done], &next, msg, sizeof(msg)) < 0)
			break;
		if (cur != fresh)
			zone_free(cur);
		cur = next;
	}
	journal_chain_free(chain, n);
	if (n && done == n) {
		log_info("zone %s: the saved copy has serial %u; its journal brought it to %u",
			 s->name, fresh->serial, cur->serial);
	} else {
		/* as far as it goes: the version reached is the newest of its
		 * lineage (a committed one is never dropped while its base
		 * lives, zone.h), and the journal ends there */
		log_warn("zone %s: the journal past the saved copy's serial %u cannot be replayed "
			 "beyond serial %u%s%s: cut there",
			 s->name, fresh->serial, cur->serial, msg[0] ? ": " : "", msg);
		journal_break(pz->journal, cur->serial);
	}
	if (cur != fresh)
		zone_free(fresh);
	return cur;
}

static struct zone *accept_version(void *ctx, struct zone_state *s, struct zone *old, struct zone *fresh,
			   bool *refused)
{
	struct primary *p = ctx;
	const struct conf_zone *cz = zone_conf(p, s);
	if (cz && cz->set->nprimary) {
		/* a secondary's copy, read once at start (zoneset.h) */
		struct primary_zone *pz = old ? NULL : zone_state_of(s, cz);
		if (!pz)
			return fresh;
		struct zone *use = secondary_first(pz, cz, s, fresh);
		use->journal = pz->journal;
		return use;
	}
	if (!has_transfers(cz)) {
		/* served as read, without a difference: a journal from when
		 * the zone had transfers no longer ends at what is served */
		struct primary_zone *pz = s->xfr;
		if (pz) {
			if (pz->journal)
				journal_break(pz->journal, fresh->serial);
			else
				pz->break_at_open = true;
			remember(pz, cz, fresh->serial, fresh);
		}
		return fresh;
	}
	struct primary_zone *pz = zone_state_of(s, cz);
	if (!pz)
		return fresh; /* out of memory: served as read, without IXFR */
	struct zone *use;
	if (!old)
		return first_version(pz, cz, s, fresh);
	enum serial_order order = serial_compare(fresh->serial, old->serial);
	struct changeset *cs = NULL;
	int r = zone_diff(old, fresh, &cs);
	if (r < 0) {
		log_err("zone %s: cannot compute the difference to serial %u (%s); served without "
			"IXFR from before it", s->name, fresh->serial, strerror(-r));
		open_journal(pz, cz, old->serial, false);
		if (pz->journal)
			journal_break(pz->journal, fresh->serial);
		fresh->journal = pz->journal;
		pz->notify_pending = true;
		return fresh;
	}
	bool changed = cs->nremoved || cs->nadded || soa_differs(old, fresh);
	if (order != SERIAL_NEWER && !changed) {
		/* the file was touched or rewritten the same (its serial may be
		 * the one a serial-policy raised): what is served stays */
		changeset_unref(cs);
		release(fresh);
		return old;
	}
	use = fresh;
	if (order != SERIAL_NEWER) {
		if (cz->set->serial_policy == CONF_SERIAL_KEEP) {
			log_err("zone %s: %s changed but its serial %u is not newer than the serial "
				"served, %u: secondaries would not see the change; the version with "
				"serial %u stays served (raise the serial, or set serial-policy: "
				"increment)",
				s->name, s->file, fresh->serial, old->serial, old->serial);
			changeset_unref(cs);
			release(fresh);
			*refused = true;
			return old;
		}
		uint32_t serial = next_serial(cz->set->serial_policy, old->serial);
		struct zone *n = with_serial(fresh, serial, s->name);
		changeset_unref(cs);
		cs = NULL;
		if (!n || zone_diff(old, n, &cs) < 0) {
			if (n)
				release(n);
			release(fresh);
			*refused = true;
			return old;
		}
		use = n;
		log_info("zone %s: %s changed with serial %u; served with serial %u (serial-policy %s)",
			 s->name, s->file, fresh->serial, serial,
			 conf_serial_policy_name(cz->set->serial_policy));
	}
	uint32_t file_serial = fresh->serial;
	if (use != fresh)
		release(fresh);
	remember(pz, cz, file_serial, use);
	open_journal(pz, cz, old->serial, true);
	if (pz->journal && journal_append(pz->journal, cs) < 0)
		journal_break(pz->journal, use->serial);
	changeset_unref(cs);
	use->journal = pz->journal;
	pz->notify_pending = true;
	return use;
}

static void forget(void *ctx, struct zone_state *s)
{
	struct primary *p = ctx;
	struct primary_zone *pz = s->xfr;
	s->xfr = NULL;
	if (!pz)
		return;
	if (pz->journal) {
		/* a worker may be reading it under RCU: closed after publishing */
		struct closing *c = malloc(sizeof(*c));
		if (c) {
			c->journal = pz->journal;
			c->next = p->closing;
			p->closing = c;
		}
		/* out of memory: leaked rather than freed under a reader */
	}
	if (p->notifier)
		notifier_forget(p->notifier, s->apex, s->apex_len);
	free(pz->kept);
	free(pz);
}

void primary_hook(struct primary *p, struct zoneset *set)
{
	set->hooks = (struct zoneset_hooks){.accept = accept_version, .forget = forget, .ctx = p};
}

static int send_notify(struct primary *p, const struct zone_state *s)
{
	const struct conf_zone *cz = zone_conf(p, s);
	if (!s->zone)
		return -ENOENT;
	if (!cz || !cz->set->nnotify || !p->notifier)
		return 0;
	size_t n = notify_targets_of(cz->set->notify, cz->set->nnotify, NULL, 0);
	struct notify_target *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	notify_targets_of(cz->set->notify, cz->set->nnotify, t, n);
	const struct zone *z = s->zone;
	const uint8_t *w = z->soa->wire;
	struct notify_zone nz = {.apex = z->apex,
				 .apex_len = z->apex_len,
				 .serial = z->serial,
				 .soa_rdata = w + RR_FIXED_LEN,
				 .soa_rdlen = (uint16_t)(w[8] << 8 | w[9]),
				 .soa_ttl = z->soa->ttl};
	int r = notifier_send(p->notifier, &nz, t, n);
	free(t);
	return r < 0 ? r : (int)n;
}

void primary_prepare(struct primary *p, const struct zoneset *set)
{
	if (!p)
		return;
	bool relocating = p->relocate;
	p->relocate = false;
	for (size_t i = 0; i < set->n; i++) {
		const struct zone_state *s = &set->v[i];
		struct primary_zone *pz = s->xfr;
		const struct conf_zone *cz;
		if (relocating && pz && (cz = zone_conf(p, s)))
			relocate(pz, cz);
		if (!pz || !s->zone || s->zone->stub || !(cz = zone_conf(p, s)) ||
		    (!has_transfers(cz) && !cz->set->nprimary))
			continue;
		open_journal(pz, cz, s->zone->serial, false);
		if (pz->break_at_open && pz->journal)
			journal_break(pz->journal, s->zone->serial);
		pz->break_at_open = false;
		/* a version not published yet, or one that already has it */
		s->zone->journal = pz->journal;
	}
}

int primary_received(struct primary *p, struct zone_state *s, struct zone *z,
		     struct changeset *const *cs, size_t ncs, bool full)
{
	const struct conf_zone *cz;
	if (!p || !(cz = zone_conf(p, s)))
		return 0;
	struct primary_zone *pz = zone_state_of(s, cz);
	if (!pz)
		return -ENOMEM;
	uint32_t from = s->zone && !s->zone->stub ? s->zone->serial : z->serial;
	/* a whole zone, or no difference, only breaks the chain: a journal
	 * without a file stays so */
	open_journal(pz, cz, from, !full && ncs > 0);
	if (pz->journal) {
		bool broken = full || ncs == 0;
		for (size_t i = 0; i < ncs && !broken; i++)
			broken = journal_append(pz->journal, cs[i]) < 0;
		if (broken)
			journal_break(pz->journal, z->serial);
	}
	z->journal = pz->journal;
	pz->notify_pending = true;
	return 0;
}

void primary_published(struct primary *p, const struct zoneset *set)
{
	if (!p)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct primary_zone *pz = set->v[i].xfr;
		if (pz && pz->notify_pending) {
			pz->notify_pending = false;
			send_notify(p, &set->v[i]);
		}
	}
	while (p->closing) {
		struct closing *c = p->closing;
		p->closing = c->next;
		journal_close(c->journal);
		free(c);
	}
}

int primary_notify_now(struct primary *p, const struct zone_state *s)
{
	if (!p)
		return 0;
	return send_notify(p, s);
}

struct status_ctx {
	char *out;
	size_t size, len;
};

static void status_line(void *ctx, const struct notify_status *st)
{
	struct status_ctx *c = ctx;
	char what[128];
	notify_status_str(st, what, sizeof(what));
	char when[32] = "";
	struct tm tm;
	if (st->when.tv_sec && gmtime_r(&st->when.tv_sec, &tm))
		strftime(when, sizeof(when), " at %Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(c->out + c->len, c->size > c->len ? c->size - c->len : 0,
			 "    notify %s serial %u: %s%s\n", st->remote_id, st->serial, what, when);
	if (n > 0)
		c->len += (size_t)n;
}

size_t primary_status(struct primary *p, const struct zone_state *s, char *out, size_t size)
{
	struct status_ctx c = {.out = out, .size = size};
	const struct primary_zone *pz = s->xfr;
	if (size)
		out[0] = 0;
	if (!p)
		return 0;
	if (pz && pz->journal) {
		uint32_t a, b;
		int n;
		if (journal_first_serial(pz->journal, &a) && journal_last_serial(pz->journal, &b))
			n = snprintf(out, size, "    journal %u..%u: %zu differences, %zu octets\n", a, b,
				     journal_depth(pz->journal), journal_usage(pz->journal));
		else
			n = snprintf(out, size, "    journal empty\n");
		if (n > 0)
			c.len = (size_t)n;
	} else if (pz && pz->no_file) {
		int n = snprintf(out, size, "    journal empty\n");
		if (n > 0)
			c.len = (size_t)n;
	}
	if (p->notifier)
		notifier_status(p->notifier, s->apex, s->apex_len, status_line, &c);
	return c.len;
}

void primary_free(struct primary *p)
{
	if (!p)
		return;
	while (p->closing) {
		struct closing *c = p->closing;
		p->closing = c->next;
		journal_close(c->journal);
		free(c);
	}
	free(p);
}
