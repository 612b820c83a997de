/* catalog_in.c: catalog zones, the consumer side (catalog_in.h). */
#include "xfr/catalog_in.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/log.h"
#include "xfr/catalog.h"

/* ---------------------------------------------------------------- reading */

static const uint8_t ZONES_LABEL[] = "\x05zones";
static const uint8_t VERSION_LABEL[] = "\x07version";
static const uint8_t GROUP_LABEL[] = "\x05group";
static const uint8_t COO_LABEL[] = "\x03" "coo";

struct reading {
	const struct zone *z;
	catalog_in_log_fn log;
	void *ctx;
	char cat[DNAME_STR_MAX];
};

static void say(struct reading *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct reading *rd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->log)
		rd->log(rd->ctx, true, msg);
}

/* The node of `rel` (labels, no root) followed by the catalog's apex. */
static const struct node *below(const struct zone *z, const uint8_t *rel, size_t rel_len)
{
	uint8_t name[DNAME_MAX];
	if (rel_len + z->apex_len > DNAME_MAX)
		return NULL;
	memcpy(name, rel, rel_len);
	memcpy(name + rel_len, z->apex, z->apex_len);
	size_t len = rel_len + z->apex_len;
	return zone_find(z, name, len, dname_hash(name, len));
}

/* Record `i` of a set: its RDATA and RDLENGTH. */
static const uint8_t *rdata_at(const struct rrset *rs, uint16_t i, size_t *len)
{
	const uint8_t *w = rs->wire;
	for (uint16_t k = 0;; k++) {
		size_t rdlen = (size_t)(w[8] << 8 | w[9]);
		if (k == i) {
			*len = rdlen;
			return w + RR_FIXED_LEN;
		}
		w += RR_FIXED_LEN + rdlen;
	}
}

/* The single PTR target at `n`, lowercased, or 0 (none, or more than one:
 * *count says how many). */
static size_t ptr_target(const struct node *n, uint8_t out[DNAME_MAX], unsigned *count)
{
	const struct rrset *rs = n ? node_rrset(n, RRTYPE_PTR) : NULL;
	*count = rs ? rs->count : 0;
	if (!rs || rs->count != 1)
		return 0;
	size_t rdlen;
	const uint8_t *rd = rdata_at(rs, 0, &rdlen);
	size_t l = dname_wire_len(rd, rdlen);
	if (!l || l != rdlen)
		return 0;
	dname_lower(out, rd, l);
	return l;
}

static int member_cmp(const void *a, const void *b)
{
	const struct catalog_in_member *x = a, *y = b;
	if (x->apex_len != y->apex_len)
		return x->apex_len < y->apex_len ? -1 : 1;
	return memcmp(x->apex, y->apex, x->apex_len);
}

static struct catalog_in_octets *octets_ref(struct catalog_in_octets *o)
{
	if (o)
		o->refs++;
	return o;
}

static void octets_unref(struct catalog_in_octets *o)
{
	if (o && --o->refs == 0)
		free(o);
}

/* A set being built (catalog_in_read, catalog_in_load): the members'
 * octets appended one after the other to one block, which may move as it
 * grows: each member's apex is pointed at by build_finish only. */
struct build {
	struct catalog_in_set set;	/* apex pointers NULL until build_finish */
	size_t cap;			/* members allocated */
	struct catalog_in_octets *blk;
	size_t len, blkcap;		/* octets in blk->o: used, allocated */
};

/* Append a member: its apex, id, group (NULL: none) and coo (0: none).
 * \return 0 or -ENOMEM */
static int member_add(struct build *b, const uint8_t *apex, size_t apex_len, const uint8_t *id,
		      const char *group, const uint8_t *coo, size_t coo_len)
{
	size_t idl = (size_t)id[0] + 1, gl = group ? strlen(group) + 1 : 0;
	size_t need = apex_len + idl + gl + coo_len;
	if (b->set.n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		struct catalog_in_member *v = realloc(b->set.v, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		b->set.v = v;
		b->cap = nc;
	}
	if (b->len + need > b->blkcap) {
		size_t nc = b->blkcap ? b->blkcap : 4096;
		while (nc < b->len + need)
			nc *= 2;
		struct catalog_in_octets *o = realloc(b->blk, sizeof(*o) + nc);
		if (!o)
			return -ENOMEM;
		b->blk = o;
		b->blkcap = nc;
	}
	uint8_t *p = b->blk->o + b->len;
	memcpy(p, apex, apex_len);
	memcpy(p + apex_len, id, idl);
	if (group)
		memcpy(p + apex_len + idl, group, gl);
	if (coo_len)
		memcpy(p + apex_len + idl + gl, coo, coo_len);
	b->len += need;
	b->set.v[b->set.n++] = (struct catalog_in_member){.apex_len = (uint8_t)apex_len,
							   .coo_len = (uint8_t)coo_len,
							   .has_group = group != NULL};
	return 0;
}

/* The set built, its slack dropped and its members pointed at their
 * octets (`b` is left empty). */
static struct catalog_in_set build_finish(struct build *b)
{
	struct catalog_in_set set = b->set;
	if (!set.n) {
		free(set.v);
		free(b->blk);
		*b = (struct build){0};
		return (struct catalog_in_set){0};
	}
	struct catalog_in_member *v = realloc(set.v, set.n * sizeof(*v));
	if (v)
		set.v = v;
	struct catalog_in_octets *o = realloc(b->blk, sizeof(*o) + b->len);
	set.octets = o ? o : b->blk;
	set.octets->refs = 1;
	const uint8_t *p = set.octets->o;
	for (size_t i = 0; i < set.n; i++) {
		struct catalog_in_member *m = &set.v[i];
		m->apex = p;
		const uint8_t *id = catalog_in_member_id(m);
		const char *g = catalog_in_member_group(m);
		p = id + id[0] + 1 + (g ? strlen(g) + 1 : 0) + m->coo_len;
	}
	*b = (struct build){0};
	return set;
}

static void build_abort(struct build *b)
{
	free(b->set.v);
	free(b->blk);
	*b = (struct build){0};
}

/* Drop the slack of a set's array sized for more (resolve). */
static void set_fit(struct catalog_in_set *set)
{
	if (!set->n) {
		catalog_in_set_free(set);
		return;
	}
	struct catalog_in_member *v = realloc(set->v, set->n * sizeof(*v));
	if (v)
		set->v = v;
}

void catalog_in_set_free(struct catalog_in_set *set)
{
	if (!set)
		return;
	free(set->v);
	octets_unref(set->octets);
	*set = (struct catalog_in_set){0};
}

const struct catalog_in_member *catalog_in_find(const struct catalog_in_set *set,
						const uint8_t *apex, size_t len)
{
	struct catalog_in_member key = {.apex = apex, .apex_len = (uint8_t)len};
	if (!set->n || len > DNAME_MAX)
		return NULL;
	return bsearch(&key, set->v, set->n, sizeof(*set->v), member_cmp);
}

/* "<label>" of a member's id, for messages. */
static const char *id_str(const uint8_t *id, char *buf, size_t size)
{
	uint8_t name[CATALOG_IN_ID_MAX + 2];
	memcpy(name, id, (size_t)id[0] + 1);
	name[id[0] + 1] = 0;
	dname_to_str(name, buf, size);
	size_t l = strlen(buf);
	if (l > 1)
		buf[l - 1] = 0;
	return buf;
}

/* A group value: a TXT record's whole RDATA (RFC 9432 §4.3.2), its
 * character-strings joined; NULL when it holds a NUL. */
static char *txt_value(const uint8_t *rd, size_t len)
{
	char *v = malloc(len + 1);
	size_t n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t l = rd[i];
		if (i + 1 + l > len || memchr(rd + i + 1, 0, l)) {
			free(v);
			return NULL;
		}
		memcpy(v + n, rd + i + 1, l);
		n += l;
		i += 1 + l;
	}
	v[n] = 0;
	return v;
}

/* A member being read, before member_add packs it. */
struct draft {
	const uint8_t *apex;	/* lowercased wire */
	const uint8_t *id;	/* its node's first label */
	char *group;		/* malloc'd, or NULL */
	uint8_t coo[DNAME_MAX];
	size_t coo_len;		/* 0: none */
};

/* The properties of member `m`, whose node is <id>.zones.<cat>: group
 * (the value naming one of `cat`'s templates when it has several, else
 * the first) and coo. \return 0, -EINVAL (a broken coo: `why`) */
static int member_properties(struct reading *rd, const struct conf_zone *cat, struct draft *m,
			     char *why, size_t whysize)
{
	uint8_t rel[2 * 64 + sizeof(ZONES_LABEL)];
	char ids[256], mn[DNAME_STR_MAX];
	size_t idl = (size_t)m->id[0] + 1;
	/* group.<id>.zones */
	memcpy(rel, GROUP_LABEL, 6);
	memcpy(rel + 6, m->id, idl);
	memcpy(rel + 6 + idl, ZONES_LABEL, 6);
	const struct node *g = below(rd->z, rel, 12 + idl);
	const struct rrset *rs = g ? node_rrset(g, RRTYPE_TXT) : NULL;
	for (uint16_t i = 0; rs && i < rs->count; i++) {
		size_t rdlen;
		const uint8_t *r = rdata_at(rs, i, &rdlen);
		char *v = txt_value(r, rdlen);
		if (!v) {
			say(rd, "catalog %s: member %s (id %s): a group property holds a NUL: ignored",
			    rd->cat, dname_to_str(m->apex, mn, sizeof(mn)),
			    id_str(m->id, ids, sizeof(ids)));
			continue;
		}
		/* several groups (§4.3.2 allows it): the first of the
		 * catalog's templates named by one of them */
		bool better = !m->group;
		if (!better && cat) {
			size_t cur = cat->ncatalog_tpl, mine = cat->ncatalog_tpl;
			for (size_t t = 0; t < cat->ncatalog_tpl; t++) {
				if (!strcmp(cat->catalog_tpl[t]->id, m->group) && t < cur)
					cur = t;
				if (!strcmp(cat->catalog_tpl[t]->id, v) && t < mine)
					mine = t;
			}
			better = mine < cur;
		}
		if (better) {
			free(m->group);
			m->group = v;
		} else {
			free(v);
		}
	}
	/* coo.<id>.zones */
	memcpy(rel, COO_LABEL, 4);
	memcpy(rel + 4, m->id, idl);
	memcpy(rel + 4 + idl, ZONES_LABEL, 6);
	const struct node *c = below(rd->z, rel, 10 + idl);
	unsigned count;
	m->coo_len = ptr_target(c, m->coo, &count);
	if (!m->coo_len && count > 1) {
		snprintf(why, whysize, "member %s (id %s) has %u coo properties (RFC 9432 §4.3.1: "
				       "one PTR record)",
			 dname_to_str(m->apex, mn, sizeof(mn)), id_str(m->id, ids, sizeof(ids)), count);
		return -EINVAL;
	}
	return 0;
}

int catalog_in_read(const struct zone *z, const struct conf_zone *cat, size_t max_members,
		    catalog_in_log_fn log, void *ctx, struct catalog_in_set *out, char *why,
		    size_t whysize)
{
	struct reading rd = {.z = z, .log = log, .ctx = ctx};
	struct build b = {0};
	struct catalog_in_set set = {0};
	int rc = 0;
	memset(out, 0, sizeof(*out));
	dname_to_str(z->apex, rd.cat, sizeof(rd.cat));

	/* §4.2.1: the version property, exactly one TXT record "2" */
	const struct node *vn = below(z, VERSION_LABEL, 8);
	const struct rrset *vs = vn ? node_rrset(vn, RRTYPE_TXT) : NULL;
	if (!vs) {
		snprintf(why, whysize, "no version property (version.%s TXT \"2\"): not a catalog "
				       "zone of a version shoal reads", rd.cat);
		return -EINVAL;
	}
	if (vs->count != 1) {
		snprintf(why, whysize, "%u version properties (TXT records at version.%s): there "
				       "must be exactly one", vs->count, rd.cat);
		return -EINVAL;
	}
	size_t rdlen;
	const uint8_t *r = rdata_at(vs, 0, &rdlen);
	char *ver = txt_value(r, rdlen);
	bool two = ver && !strcmp(ver, "2") && rdlen == 2;
	if (!two) {
		snprintf(why, whysize, "version property \"%.40s\"%s: shoal reads version \"2\" "
				       "only", ver ? ver : "(holds a NUL)",
			 ver && rdlen != strlen(ver) + 1 ? " (in several strings)" : "");
		free(ver);
		return -EINVAL;
	}
	free(ver);

	/* §4.3: member nodes, <id>.zones.<cat> PTR <member> */
	unsigned want_labels = z->apex_labels + 2u;
	for (size_t i = 0; i <= z->mask; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n || n->labels != want_labels)
			continue;
		const uint8_t *second = n->name + 1 + n->name[0];
		if (memcmp(second, ZONES_LABEL, 6) != 0)
			continue;
		char ids[256], mn[DNAME_STR_MAX];
		uint8_t target[DNAME_MAX];
		unsigned count;
		size_t tl = ptr_target(n, target, &count);
		if (!tl && count > 1) {
			snprintf(why, whysize, "member node %s has %u PTR records (RFC 9432 §4.1: "
					       "exactly one)", id_str(n->name, ids, sizeof(ids)), count);
			rc = -EINVAL;
			goto fail;
		}
		if (!tl)
			continue; /* no PTR: not a member node (an empty non-terminal) */
		if (tl == 1) {
			say(&rd, "catalog %s: member %s names the root zone: ignored", rd.cat,
			    id_str(n->name, ids, sizeof(ids)));
			continue;
		}
		if (dname_is_subdomain(target, z->apex)) {
			say(&rd, "catalog %s: member %s names %s, the catalog itself or a name in it: "
				 "ignored",
			    rd.cat, id_str(n->name, ids, sizeof(ids)),
			    dname_to_str(target, mn, sizeof(mn)));
			continue;
		}
		/* the id: lowercased already */
		struct draft d = {.apex = target, .id = n->name};
		rc = member_properties(&rd, cat, &d, why, whysize);
		if (rc == 0)
			rc = member_add(&b, target, tl, d.id, d.group, d.coo, d.coo_len);
		free(d.group);
		if (rc < 0)
			goto fail;
		if (b.set.n > max_members) {
			snprintf(why, whysize, "more than catalog-max-members (%zu) members", max_members);
			rc = -E2BIG;
			goto fail;
		}
	}
	set = build_finish(&b);
	if (set.n)
		qsort(set.v, set.n, sizeof(*set.v), member_cmp);
	/* §4.1: one zone under two ids is a broken catalog */
	for (size_t i = 1; i < set.n; i++) {
		if (member_cmp(&set.v[i - 1], &set.v[i]))
			continue;
		char mn[DNAME_STR_MAX], a[256], bs[256];
		snprintf(why, whysize, "zone %s is listed twice, with ids %s and %s (RFC 9432 §4.1)",
			 dname_to_str(set.v[i].apex, mn, sizeof(mn)),
			 id_str(catalog_in_member_id(&set.v[i - 1]), a, sizeof(a)),
			 id_str(catalog_in_member_id(&set.v[i]), bs, sizeof(bs)));
		rc = -EINVAL;
		goto fail;
	}
	*out = set;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(why, whysize, "out of memory");
	build_abort(&b);
	catalog_in_set_free(&set);
	return rc;
}

/* ---------------------------------------------------------------- the saved set */

int catalog_in_save(const char *path, const char *catalog, const struct catalog_in_set *set,
		    char *why, size_t whysize)
{
	size_t cap = 256 + set->n * 128, len = 0;
	char *t = malloc(cap);
	if (!t) {
		snprintf(why, whysize, "out of memory");
		return -ENOMEM;
	}
	len += (size_t)snprintf(t, cap,
				"# shoal: the members catalog zone %s last applied (RFC 9432), "
				"one a line:\n# zone id [group, hex]\n",
				catalog);
	for (size_t i = 0; i < set->n; i++) {
		const struct catalog_in_member *m = &set->v[i];
		const char *group = catalog_in_member_group(m);
		char mn[DNAME_STR_MAX], ids[256];
		size_t gl = group ? strlen(group) : 0;
		size_t need = DNAME_STR_MAX + 256 + 2 * gl + 8;
		if (len + need > cap) {
			cap = (len + need) * 2;
			char *nt = realloc(t, cap);
			if (!nt) {
				free(t);
				snprintf(why, whysize, "out of memory");
				return -ENOMEM;
			}
			t = nt;
		}
		len += (size_t)snprintf(t + len, cap - len, "%s %s", dname_to_str(m->apex, mn, sizeof(mn)),
					id_str(catalog_in_member_id(m), ids, sizeof(ids)));
		if (group) {
			t[len++] = ' ';
			for (size_t k = 0; k < gl; k++)
				len += (size_t)snprintf(t + len, cap - len, "%02x",
							(unsigned char)group[k]);
			if (!gl)
				len += (size_t)snprintf(t + len, cap - len, "-");
		}
		t[len++] = '\n';
	}
	int rc = catalog_file_write(path, t, len, why, whysize);
	free(t);
	return rc;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int catalog_in_load(const char *path, struct catalog_in_set *out, char *why, size_t whysize)
{
	size_t len = 0;
	memset(out, 0, sizeof(*out));
	char *text = catalog_file_read(path, &len);
	if (!text) {
		int e = errno;
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return -ENOENT;
		snprintf(why, whysize, "%s: cannot read: %s", path, strerror(e ? e : EIO));
		return -(e ? e : EIO);
	}
	struct build bd = {0};
	size_t line = 0;
	int rc = 0;
	for (char *p = text, *nl; *p; p = nl + 1) {
		line++;
		nl = strchr(p, '\n');
		if (!nl) {
			snprintf(why, whysize, "%s:%zu: the last line is cut short", path, line);
			rc = -EINVAL;
			break;
		}
		*nl = 0;
		if (*p == '#' || !*p)
			continue;
		char zone[DNAME_STR_MAX], id[300], group[2 * 255 + 2] = "";
		int k = sscanf(p, "%1023s %299s %511s", zone, id, group);
		uint8_t apex[DNAME_MAX], idn[DNAME_MAX];
		size_t al = k >= 2 ? dname_from_str(zone, apex) : 0;
		size_t il = k >= 2 ? dname_from_str(id, idn) : 0;
		if (k < 2 || !al || !il || idn[0] + 2u != il) {
			snprintf(why, whysize, "%s:%zu: expected: zone id [group]", path, line);
			rc = -EINVAL;
			break;
		}
		char g[256];
		if (k == 3) {
			size_t gl = strcmp(group, "-") ? strlen(group) : 0;
			bool ok = gl % 2 == 0;
			for (size_t i = 0; ok && i < gl / 2; i++) {
				int a = hexval(group[2 * i]), b = hexval(group[2 * i + 1]);
				ok = a >= 0 && b >= 0 && (a | b);
				g[i] = (char)(a << 4 | b);
			}
			g[ok ? gl / 2 : 0] = 0;
			if (!ok) {
				snprintf(why, whysize, "%s:%zu: the group is not hex", path, line);
				rc = -EINVAL;
				break;
			}
		}
		if ((rc = member_add(&bd, apex, al, idn, k == 3 ? g : NULL, NULL, 0)) < 0)
			break;
	}
	free(text);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(why, whysize, "out of memory");
		build_abort(&bd);
		return rc;
	}
	struct catalog_in_set set = build_finish(&bd);
	if (set.n)
		qsort(set.v, set.n, sizeof(*set.v), member_cmp);
	*out = set;
	return 0;
}

/* ---------------------------------------------------------------- the consumer */

struct catalog_state {
	uint8_t apex[DNAME_MAX];
	uint8_t apex_len;
	char name[DNAME_STR_MAX];
	char *members_path;		/* as the server sees it (chroot) */
	struct catalog_in_set parsed;	/* the last version read that was good */
	struct catalog_in_set applied;	/* what is served: its octets those of
					 * the parsed set it was resolved from
					 * (a reference, outliving a newer one) */
	struct zone *seen;		/* the version last read (a reference) */
	bool configured;		/* in the last configuration */
	bool just_read;			/* a new version read since the last resolve:
					 * members may move to it by coo (§4.3.1) */
	char result[600];		/* of the last version read */
};

struct catalog_consumer {
	struct catalog_state **v;
	size_t n;
};

struct catalog_consumer *catalog_consumer_new(void)
{
	return calloc(1, sizeof(struct catalog_consumer));
}

static void state_free(struct catalog_state *s)
{
	catalog_in_set_free(&s->parsed);
	catalog_in_set_free(&s->applied);
	zone_unref(s->seen);
	free(s->members_path);
	free(s);
}

void catalog_consumer_free(struct catalog_consumer *cc)
{
	for (size_t i = 0; cc && i < cc->n; i++)
		state_free(cc->v[i]);
	if (cc)
		free(cc->v);
	free(cc);
}

/* `dst` made the members of `src` minus their coo properties: its own
 * array, pointing into the octets of `src` (a reference). */
static int set_share(struct catalog_in_set *dst, const struct catalog_in_set *src)
{
	struct catalog_in_set s = {0};
	if (src->n && !(s.v = malloc(src->n * sizeof(*s.v))))
		return -ENOMEM;
	for (; s.n < src->n; s.n++) {
		s.v[s.n] = src->v[s.n];
		s.v[s.n].coo_len = 0;
	}
	s.octets = octets_ref(src->octets);
	catalog_in_set_free(dst);
	*dst = s;
	return 0;
}

static struct catalog_state *state_find(const struct catalog_consumer *cc, const uint8_t *apex,
					size_t len)
{
	for (size_t i = 0; i < cc->n; i++)
		if (cc->v[i]->apex_len == len && !memcmp(cc->v[i]->apex, apex, len))
			return cc->v[i];
	return NULL;
}

void catalog_consumer_configure(struct catalog_consumer *cc, const struct conf *fc,
				const char *(*in_root)(const char *path, char *buf, size_t size))
{
	for (size_t i = 0; i < cc->n; i++)
		cc->v[i]->configured = false;
	for (size_t i = 0; fc && i < fc->nzones; i++) {
		const struct conf_zone *cz = &fc->zones[i];
		if (cz->set->catalog_role != CONF_CATALOG_INTERPRET)
			continue;
		char *path = conf_storage_file(cz, ".members"), pb[PATH_MAX];
		const char *in = path && in_root ? in_root(path, pb, sizeof(pb)) : path;
		char *p = in ? strdup(in) : NULL;
		free(path);
		struct catalog_state *s = state_find(cc, cz->apex, cz->apex_len);
		if (s) {
			if (p) {
				free(s->members_path);
				s->members_path = p;
			}
			s->configured = true;
			continue;
		}
		struct catalog_state **v = realloc(cc->v, (cc->n + 1) * sizeof(*v));
		if (v)
			cc->v = v;
		if (!v || !p || !(s = calloc(1, sizeof(*s)))) {
			log_err("catalog %s: out of memory: its members are not served", cz->name);
			free(p);
			continue;
		}
		memcpy(s->apex, cz->apex, cz->apex_len);
		s->apex_len = (uint8_t)cz->apex_len;
		snprintf(s->name, sizeof(s->name), "%s", cz->name);
		s->members_path = p;
		s->configured = true;
		char why[PATH_MAX + 256];
		int r = catalog_in_load(p, &s->applied, why, sizeof(why));
		if (r == 0) {
			log_info("catalog %s: %zu member%s, as last applied (%s)", s->name,
				 s->applied.n, s->applied.n == 1 ? "" : "s", p);
		} else if (r != -ENOENT) {
			log_err("catalog %s: %s: its saved members are not served until the catalog "
				"is read", s->name, why);
		}
		if (set_share(&s->parsed, &s->applied) < 0)
			catalog_in_set_free(&s->applied); /* nothing at all rather than half */
		cc->v[cc->n++] = s;
	}
}

static void read_log(void *ctx, bool warning, const char *msg)
{
	(void)ctx;
	if (warning)
		log_warn("%s", msg);
	else
		log_info("%s", msg);
}

bool catalog_consumer_read(struct catalog_consumer *cc, const struct conf *fc,
			   const struct zoneset *set)
{
	bool due = false;
	for (size_t i = 0; i < cc->n; i++) {
		struct catalog_state *s = cc->v[i];
		if (!s->configured)
			continue;
		const struct zone_state *zs = zoneset_find(set, s->apex, s->apex_len);
		struct zone *z = zs ? zs->zone : NULL;
		/* §5.1: an expired catalog is not processed until it is fresh */
		if (!z || z->stub || z == s->seen || atomic_load(&z->expired))
			continue;
		zone_ref(z);
		zone_unref(s->seen);
		s->seen = z;
		const struct conf_zone *cz = conf_zone_find(fc, s->apex, s->apex_len);
		struct catalog_in_set got;
		char why[1024];
		int r = catalog_in_read(z, cz, cz ? cz->catalog_max_members
						  : CONF_CATALOG_MAX_MEMBERS_DEFAULT,
					read_log, NULL, &got, why, sizeof(why));
		if (r < 0) {
			log_err("catalog %s serial %u: not applied: %s; its %zu member%s stay as they "
				"were", s->name, z->serial, why, s->applied.n,
				s->applied.n == 1 ? "" : "s");
			snprintf(s->result, sizeof(s->result), "serial %u not applied: %.500s", z->serial,
				 why);
			continue;
		}
		snprintf(s->result, sizeof(s->result), "serial %u read: %zu member%s listed",
			 z->serial, got.n, got.n == 1 ? "" : "s");
		log_info("catalog %s serial %u: %zu member%s listed", s->name, z->serial, got.n,
			 got.n == 1 ? "" : "s");
		catalog_in_set_free(&s->parsed);
		s->parsed = got;
		s->just_read = true;
		due = true;
	}
	return due;
}

/* Who serves a member: a small hash table by apex. */
struct owner {
	const struct catalog_in_member *m;	/* NULL: empty slot */
	uint32_t cat;				/* index in cc->v */
	bool by_coo;				/* moved here by its old catalog's coo */
};

struct owners {
	struct owner *t;
	size_t mask, n;
};

static int owners_init(struct owners *o, size_t n)
{
	size_t slots = 16;
	while (slots < 2 * n + 2)
		slots *= 2;
	o->t = calloc(slots, sizeof(*o->t));
	o->mask = slots - 1;
	o->n = 0;
	return o->t ? 0 : -ENOMEM;
}

static struct owner *owners_slot(const struct owners *o, const uint8_t *apex, size_t len)
{
	size_t h = (size_t)dname_hash(apex, len) & o->mask;
	while (o->t[h].m && !(o->t[h].m->apex_len == len && !memcmp(o->t[h].m->apex, apex, len)))
		h = (h + 1) & o->mask;
	return &o->t[h];
}

static const struct owner *owners_get(const struct owners *o, const uint8_t *apex, size_t len)
{
	const struct owner *w = owners_slot(o, apex, len);
	return w->m ? w : NULL;
}

/* Log at most this many member changes of one resolve one by one. */
#define CHANGES_LOGGED 50

struct resolving {
	struct catalog_consumer *cc;
	const struct conf *fc;
	struct owners old, neu;
	struct catalog_in_set *next;	/* per catalog */
	size_t *cap;
	unsigned logged, unlogged;
	struct catalog_changes *ch;
};

static void change(struct resolving *rs, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void change(struct resolving *rs, bool error, const char *fmt, ...)
{
	if (rs->logged >= CHANGES_LOGGED) {
		rs->unlogged++;
		return;
	}
	rs->logged++;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		log_err("%s", msg);
	else
		log_info("%s", msg);
}

/* Serve `m`, one of catalog `c`'s parsed members, from `c` in the new
 * set: minus its coo property, its octets those of `parsed` (the new set
 * holds a reference to them). */
static int assign(struct resolving *rs, uint32_t c, const struct catalog_in_member *m, bool by_coo)
{
	struct catalog_in_set *s = &rs->next[c];
	/* sized for every member the catalog lists (resolve): never moved,
	 * the table points into it */
	if (s->n == rs->cap[c])
		return -ENOMEM;
	struct catalog_in_member *d = &s->v[s->n++];
	*d = *m;
	d->coo_len = 0;
	struct owner *w = owners_slot(&rs->neu, d->apex, d->apex_len);
	*w = (struct owner){.m = d, .cat = c, .by_coo = by_coo};
	rs->neu.n++;
	return 0;
}

/* Catalog `from` lists `apex` with a coo property naming catalog `to`,
 * and `to` was just read: §4.3.1, the migration waits for an update of the
 * new catalog, and checks the old one still has the coo. */
static bool coo_to(const struct catalog_state *from, const struct catalog_state *to,
		   const uint8_t *apex, size_t len)
{
	if (!to->just_read)
		return false;
	const struct catalog_in_member *p = catalog_in_find(&from->parsed, apex, len);
	return p && p->coo_len && p->coo_len == to->apex_len &&
	       !memcmp(catalog_in_member_coo(p), to->apex, to->apex_len);
}

static int names_push(struct catalog_names *v, const uint8_t *apex, size_t len)
{
	if (v->len + 1 + len > v->cap) {
		size_t cap = v->cap ? v->cap : 1024;
		while (cap < v->len + 1 + len)
			cap *= 2;
		uint8_t *w = realloc(v->wire, cap);
		if (!w)
			return -ENOMEM;
		v->wire = w;
		v->cap = cap;
	}
	v->wire[v->len] = (uint8_t)len;
	memcpy(v->wire + v->len + 1, apex, len);
	v->len += 1 + len;
	v->n++;
	return 0;
}

const uint8_t *catalog_names_next(const struct catalog_names *v, size_t *at, size_t *len)
{
	if (*at >= v->len)
		return NULL;
	const uint8_t *p = v->wire + *at;
	*len = p[0];
	*at += 1 + *len;
	return p + 1;
}

bool catalog_names_has(const struct catalog_names *v, const uint8_t *apex, size_t len)
{
	size_t at = 0, l;
	for (const uint8_t *p; (p = catalog_names_next(v, &at, &l));)
		if (l == len && !memcmp(p, apex, len))
			return true;
	return false;
}

void catalog_changes_free(struct catalog_changes *ch)
{
	free(ch->purge.wire);
	free(ch->fresh.wire);
	memset(ch, 0, sizeof(*ch));
}

static bool member_same(const struct catalog_in_member *a, const struct catalog_in_member *b)
{
	const uint8_t *ai = catalog_in_member_id(a), *bi = catalog_in_member_id(b);
	const char *ag = catalog_in_member_group(a), *bg = catalog_in_member_group(b);
	return ai[0] == bi[0] && !memcmp(ai, bi, (size_t)ai[0] + 1) && !ag == !bg &&
	       (!ag || !strcmp(ag, bg));
}

/* Who keeps what (catalog_in.h): the new sets into rs->next. */
static int resolve_owners(struct resolving *rs)
{
	struct catalog_consumer *cc = rs->cc;
	char mn[DNAME_STR_MAX];
	int r;
	/* 1. members that stay where they are */
	for (uint32_t c = 0; c < cc->n; c++) {
		const struct catalog_state *s = cc->v[c];
		if (!s->configured)
			continue;
		for (size_t i = 0; i < s->applied.n; i++) {
			const struct catalog_in_member *m = &s->applied.v[i];
			if (conf_zone_find(rs->fc, m->apex, m->apex_len))
				continue; /* the file has it now: step 3 says so */
			const struct catalog_in_member *p =
				catalog_in_find(&s->parsed, m->apex, m->apex_len);
			if (!p)
				continue; /* removed from its catalog */
			bool leaving = false;
			for (uint32_t t = 0; t < cc->n && !leaving && p->coo_len; t++)
				leaving = t != c && cc->v[t]->configured &&
					  coo_to(s, cc->v[t], m->apex, m->apex_len) &&
					  catalog_in_find(&cc->v[t]->parsed, m->apex, m->apex_len);
			if (!leaving && (r = assign(rs, c, p, false)) < 0)
				return r;
		}
	}
	/* 2. members new to their catalog, in the configuration's order */
	for (uint32_t c = 0; c < cc->n; c++) {
		const struct catalog_state *s = cc->v[c];
		if (!s->configured)
			continue;
		for (size_t i = 0; i < s->parsed.n; i++) {
			const struct catalog_in_member *p = &s->parsed.v[i];
			const struct owner *now = owners_get(&rs->neu, p->apex, p->apex_len);
			if (now && now->cat == c)
				continue; /* step 1 kept it */
			const struct owner *was = owners_get(&rs->old, p->apex, p->apex_len);
			if (was && was->cat == c &&
			    !conf_zone_find(rs->fc, p->apex, p->apex_len))
				continue; /* step 1 let it go: moving by its coo property */
			dname_to_str(p->apex, mn, sizeof(mn));
			const struct conf_zone *fz = conf_zone_find(rs->fc, p->apex, p->apex_len);
			if (fz) {
				/* §5.2: a clash with a configured zone */
				rs->ch->ignored++;
				change(rs, true, "catalog %s: member %s ignored: the zone is configured "
						 "at %s, which wins", s->name, mn, fz->where);
				continue;
			}
			if (now) {
				rs->ch->ignored++;
				change(rs, true, "catalog %s: member %s ignored: catalog %s has it "
						 "(RFC 9432 §5.2)", s->name, mn, cc->v[now->cat]->name);
				continue;
			}
			bool by_coo = false;
			if (was && was->cat != c) {
				const struct catalog_state *a = cc->v[was->cat];
				by_coo = a->configured && coo_to(a, s, p->apex, p->apex_len);
				if (!by_coo && a->configured &&
				    catalog_in_find(&a->parsed, p->apex, p->apex_len)) {
					rs->ch->ignored++;
					change(rs, true, "catalog %s: member %s ignored: catalog %s has "
							 "it, without a coo property naming %s (RFC "
							 "9432 §5.2)", s->name, mn, a->name, s->name);
					continue;
				}
			}
			if ((r = assign(rs, c, p, by_coo)) < 0)
				return r;
		}
	}
	return 0;
}

/* Compare the new sets with the old: count, log, list what to delete. */
static int resolve_diff(struct resolving *rs)
{
	struct catalog_consumer *cc = rs->cc;
	struct catalog_changes *ch = rs->ch;
	char mn[DNAME_STR_MAX], a[256], b[256];
	int r;
	for (uint32_t c = 0; c < cc->n; c++) {
		const struct catalog_in_set *s = &rs->next[c];
		for (size_t i = 0; i < s->n; i++) {
			const struct catalog_in_member *m = &s->v[i];
			const struct owner *was = owners_get(&rs->old, m->apex, m->apex_len);
			const struct owner *now = owners_get(&rs->neu, m->apex, m->apex_len);
			const uint8_t *id = catalog_in_member_id(m);
			const char *g = catalog_in_member_group(m);
			dname_to_str(m->apex, mn, sizeof(mn));
			const char *cat = cc->v[c]->name;
			if (!was) {
				ch->added++;
				change(rs, false, "catalog %s: member %s added (id %s%s%s%s)", cat, mn,
				       id_str(id, a, sizeof(a)), g ? ", group \"" : "", g ? g : "",
				       g ? "\"" : "");
				continue;
			}
			const uint8_t *was_id = catalog_in_member_id(was->m);
			bool same_id = was_id[0] == id[0] && !memcmp(was_id, id, (size_t)id[0] + 1);
			if (was->cat != c && !now->by_coo) {
				/* removed from one catalog, added to another */
				same_id = false;
			}
			if (!same_id) {
				ch->reset++;
				change(rs, false, "catalog %s: member %s: id %s, was %s%s%s: removed "
						  "and added again, its data transferred afresh "
						  "(RFC 9432 §5.4)", cat, mn,
				       id_str(id, a, sizeof(a)), id_str(was_id, b, sizeof(b)),
				       was->cat != c ? " in catalog " : "",
				       was->cat != c ? cc->v[was->cat]->name : "");
				if ((r = names_push(&ch->purge, m->apex, m->apex_len)) < 0 ||
				    (r = names_push(&ch->fresh, m->apex, m->apex_len)) < 0)
					return r;
				continue;
			}
			if (was->cat != c) {
				ch->moved++;
				change(rs, false, "catalog %s: member %s moved here from catalog %s by "
						  "its coo property, with its data (same id %s)", cat,
				       mn, cc->v[was->cat]->name, id_str(id, a, sizeof(a)));
			} else if (!member_same(was->m, m)) {
				const char *wg = catalog_in_member_group(was->m);
				ch->moved++; /* a new group: another template */
				change(rs, false, "catalog %s: member %s: group \"%s\" now, was \"%s\"",
				       cat, mn, g ? g : "", wg ? wg : "");
			}
		}
	}
	for (uint32_t c = 0; c < cc->n; c++) {
		const struct catalog_in_set *s = &cc->v[c]->applied;
		for (size_t i = 0; i < s->n; i++) {
			const struct catalog_in_member *m = &s->v[i];
			if (owners_get(&rs->neu, m->apex, m->apex_len))
				continue;
			dname_to_str(m->apex, mn, sizeof(mn));
			const struct conf_zone *fz = conf_zone_find(rs->fc, m->apex, m->apex_len);
			ch->removed++;
			if (fz) {
				/* its data may be the file's zone's now: nothing deleted */
				change(rs, false, "catalog %s: member %s is configured at %s now: served "
						  "as that entry says", cc->v[c]->name, mn, fz->where);
				continue;
			}
			change(rs, false, "catalog %s: member %s removed%s: no longer served, its data "
					  "deleted", cc->v[c]->name, mn,
			       cc->v[c]->configured ? "" : " (the catalog is no longer configured)");
			if ((r = names_push(&ch->purge, m->apex, m->apex_len)) < 0)
				return r;
		}
	}
	return 0;
}

int catalog_consumer_resolve(struct catalog_consumer *cc, const struct conf *fc,
			     struct catalog_changes *ch)
{
	struct resolving rs = {.cc = cc, .fc = fc, .ch = ch};
	size_t total = 0;
	int r = -ENOMEM;
	memset(ch, 0, sizeof(*ch));
	for (size_t c = 0; c < cc->n; c++)
		total += cc->v[c]->applied.n + cc->v[c]->parsed.n;
	rs.next = calloc(cc->n + 1, sizeof(*rs.next));
	rs.cap = calloc(cc->n + 1, sizeof(*rs.cap));
	if (!rs.next || !rs.cap || owners_init(&rs.old, total) < 0 ||
	    owners_init(&rs.neu, total) < 0)
		goto out;
	for (uint32_t c = 0; c < cc->n; c++) {
		rs.cap[c] = cc->v[c]->parsed.n;
		if (rs.cap[c] && !(rs.next[c].v = calloc(rs.cap[c], sizeof(*rs.next[c].v))))
			goto out;
		/* assign: the new set points into `parsed`'s octets */
		rs.next[c].octets = octets_ref(cc->v[c]->parsed.octets);
	}
	for (uint32_t c = 0; c < cc->n; c++)
		for (size_t i = 0; i < cc->v[c]->applied.n; i++) {
			const struct catalog_in_member *m = &cc->v[c]->applied.v[i];
			struct owner *w = owners_slot(&rs.old, m->apex, m->apex_len);
			if (!w->m)
				*w = (struct owner){.m = m, .cat = c};
		}
	if ((r = resolve_owners(&rs)) < 0 || (r = resolve_diff(&rs)) < 0)
		goto out;
	if (rs.unlogged)
		log_info("catalogs: %u more member changes not logged one by one", rs.unlogged);
	bool any = ch->added || ch->removed || ch->reset || ch->moved;
	/* commit: the new sets are the applied ones; each catalog whose set
	 * changed saves it */
	for (uint32_t c = 0; c < cc->n; c++) {
		struct catalog_state *s = cc->v[c];
		struct catalog_in_set *n = &rs.next[c];
		if (n->n)
			qsort(n->v, n->n, sizeof(*n->v), member_cmp);
		set_fit(n); /* sized for every member listed: some may have been left out */
		bool same = n->n == s->applied.n;
		for (size_t i = 0; same && i < n->n; i++)
			same = n->v[i].apex_len == s->applied.v[i].apex_len &&
			       !memcmp(n->v[i].apex, s->applied.v[i].apex, n->v[i].apex_len) &&
			       member_same(&n->v[i], &s->applied.v[i]);
		catalog_in_set_free(&s->applied);
		s->applied = *n;
		*n = (struct catalog_in_set){0};
		if (same || !s->configured)
			continue;
		char why[PATH_MAX + 256];
		if (catalog_in_save(s->members_path, s->name, &s->applied, why, sizeof(why)) < 0)
			log_err("catalog %s: saving its members: %s (a restart serves the members "
				"saved before)", s->name, why);
	}
	for (size_t c = 0; c < cc->n; c++)
		cc->v[c]->just_read = false;
	/* catalogs no longer configured: their members are gone now */
	size_t w = 0;
	for (size_t c = 0; c < cc->n; c++) {
		struct catalog_state *s = cc->v[c];
		if (s->configured) {
			cc->v[w++] = s;
			continue;
		}
		if (unlink(s->members_path) < 0 && errno != ENOENT)
			log_warn("catalog %s: removing %s: %s", s->name, s->members_path,
				 strerror(errno));
		state_free(s);
	}
	cc->n = w;
	r = any ? 1 : 0;
out:
	for (size_t c = 0; rs.next && c < cc->n + 1; c++)
		catalog_in_set_free(&rs.next[c]);
	free(rs.next);
	free(rs.cap);
	free(rs.old.t);
	free(rs.neu.t);
	if (r < 0)
		catalog_changes_free(ch);
	return r;
}

int catalog_consumer_members(const struct catalog_consumer *cc, const struct conf *fc,
			     struct conf_member **out, size_t *nout)
{
	size_t n = 0;
	for (size_t c = 0; c < cc->n; c++)
		n += cc->v[c]->applied.n;
	struct conf_member *m = calloc(n + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	size_t k = 0;
	for (size_t c = 0; c < cc->n; c++) {
		const struct catalog_state *s = cc->v[c];
		const struct conf_zone *cz = conf_zone_find(fc, s->apex, s->apex_len);
		if (!cz || cz->set->catalog_role != CONF_CATALOG_INTERPRET)
			continue;
		for (size_t i = 0; i < s->applied.n; i++) {
			const struct catalog_in_member *e = &s->applied.v[i];
			if (conf_zone_find(fc, e->apex, e->apex_len))
				continue; /* the file's entry wins (until the next resolve drops it) */
			m[k++] = (struct conf_member){.apex = e->apex,
						      .apex_len = e->apex_len,
						      .catalog = cz,
						      .id = catalog_in_member_id(e),
						      .group = catalog_in_member_group(e)};
		}
	}
	*out = m;
	*nout = k;
	return 0;
}

size_t catalog_consumer_status(const struct catalog_consumer *cc, const uint8_t *apex,
			       size_t apex_len, bool json, char *out, size_t size)
{
	const struct catalog_state *s = cc ? state_find(cc, apex, apex_len) : NULL;
	if (size)
		out[0] = 0;
	if (!s)
		return 0;
	const char *res = s->result[0] ? s->result : "not read yet";
	int n;
	if (!json) {
		n = snprintf(out, size, "    catalog of %zu member%s (saved in %s); last version %s\n",
			     s->applied.n, s->applied.n == 1 ? "" : "s", s->members_path, res);
		return n < 0 ? 0 : (size_t)n;
	}
	/* a JSON string: the result holds names and reasons, no control
	 * characters, but may hold quotes and backslashes */
	char esc[sizeof(s->result) * 2];
	size_t k = 0;
	for (const char *p = res; *p && k + 2 < sizeof(esc); p++) {
		if (*p == '"' || *p == '\\')
			esc[k++] = '\\';
		esc[k++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	}
	esc[k] = 0;
	n = snprintf(out, size, ", \"catalog\": {\"members\": %zu, \"last\": \"%s\"}",
		     s->applied.n, esc);
	return n < 0 ? 0 : (size_t)n;
}
