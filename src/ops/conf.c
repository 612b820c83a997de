/* conf.c: reading the configuration file with libyaml's document API. */
#include "ops/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <ldns/ldns.h>

_Static_assert(sizeof(((struct conf *)0)->server_set) >= 64, "server_set: one per table row");

/* ---------------------------------------------------------------- strings */

/*
 * The pool: a bump allocator for every string, name, list and zone
 * settings of one configuration. Blocks start at POOL_BLOCK_MIN octets
 * (header included) and double up to POOL_BLOCK_MAX; a request above a
 * quarter of the next block's room gets a block of its own, so the block
 * being carved keeps its room. Nothing is freed alone: pool_free frees
 * every block. A catalog member's entry costs its strings' octets and no
 * malloc of its own.
 */
#define POOL_BLOCK_MIN 4096
#define POOL_BLOCK_MAX 65536

struct pool_block {
	struct pool_block *next;
	size_t size, used;	/* octets of mem, and of those carved */
	_Alignas(max_align_t) unsigned char mem[];
};

struct conf_pool {
	struct pool_block *head;	/* the block being carved, then the others */
	size_t next;			/* the next block's size, header included */
};

static void pool_free(struct conf_pool *p)
{
	if (!p)
		return;
	for (struct pool_block *b = p->head, *nb; b; b = nb) {
		nb = b->next;
		free(b);
	}
	free(p);
}

/* `len` octets aligned to `align` (a power of two, at most max_align_t's),
 * not zeroed, or NULL: out of memory. */
static void *pool_alloc(struct conf_pool *p, size_t len, size_t align)
{
	struct pool_block *b = p->head;
	if (b) {
		size_t at = (b->used + align - 1) & ~(align - 1);
		if (at <= b->size && len <= b->size - at) {
			b->used = at + len;
			return b->mem + at;
		}
	}
	size_t total = p->next ? p->next : POOL_BLOCK_MIN;
	bool own = len > (total - sizeof(*b)) / 4;
	if (own) {
		if (len > SIZE_MAX - sizeof(*b))
			return NULL;
		total = sizeof(*b) + len;
	}
	struct pool_block *nb = malloc(total);
	if (!nb)
		return NULL;
	nb->size = total - sizeof(*nb);
	nb->used = len;
	if (own && b) {
		/* behind the head, which keeps being carved */
		nb->next = b->next;
		b->next = nb;
	} else {
		nb->next = b;
		p->head = nb;
		if (!own && total < POOL_BLOCK_MAX)
			p->next = total * 2;
	}
	return nb->mem;
}

/* `n` zeroed pointers (or smaller elements) of `size` octets, or NULL. */
static void *pool_calloc(struct conf_pool *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *v = pool_alloc(p, n * size, _Alignof(void *));
	if (v)
		memset(v, 0, n * size);
	return v;
}

static const char *pool_printf(struct conf_pool *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *pool_printf(struct conf_pool *p, const char *fmt, ...)
{
	/* written straight into the head block's room when it fits; else
	 * measured there, then written into room of that size */
	struct pool_block *b = p->head;
	size_t room = b ? b->size - b->used : 0;
	char *s = NULL;
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int n = vsnprintf(room ? (char *)b->mem + b->used : NULL, room, fmt, aq);
	va_end(aq);
	if (n >= 0 && (size_t)n < room) {
		s = (char *)b->mem + b->used;
		b->used += (size_t)n + 1;
	} else if (n >= 0 && (s = pool_alloc(p, (size_t)n + 1, 1))) {
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	}
	va_end(ap);
	return s;
}

/* A copy of `len` octets (a wire name) in the pool, or NULL. */
static const uint8_t *pool_copy(struct conf_pool *p, const uint8_t *mem, size_t len)
{
	uint8_t *s = pool_alloc(p, len ? len : 1, 1);
	if (s && len)
		memcpy(s, mem, len);
	return s;
}

/* ---------------------------------------------------------------- reader */

struct reader {
	const char *file;
	char dir[PATH_MAX];	/* the file's folder, for a relative storage */
	yaml_document_t doc;
	conf_diag_fn diag;
	void *ctx;
	unsigned nerr;
	bool oom;
	struct conf *c;
};

static void report(struct reader *r, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(struct reader *r, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[1024];
	int n;
	r->nerr++;
	if (r->nerr > CONF_ERRORS_MAX)
		return;
	/* libyaml counts lines and columns from 0; editors from 1. */
	if (m)
		n = snprintf(msg, sizeof(msg), "%s:%zu:%zu: ", r->file, m->line + 1, m->column + 1);
	else
		n = snprintf(msg, sizeof(msg), "%s: ", r->file);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (r->nerr == CONF_ERRORS_MAX)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
			 " (%d errors: stopping here)", CONF_ERRORS_MAX);
	if (r->diag)
		r->diag(r->ctx, msg);
}

#define ERR(r, node, ...) report((r), &(node)->start_mark, __VA_ARGS__)

static yaml_node_t *node(struct reader *r, int id)
{
	return yaml_document_get_node(&r->doc, id);
}

static const char *where(struct reader *r, const yaml_node_t *n)
{
	return pool_printf(r->c->pool, "%s:%zu", r->file, n->start_mark.line + 1);
}

/* A scalar's text, or NULL (an error given) for anything else or nothing. */
static const char *scalar(struct reader *r, yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		ERR(r, n, "%s: expected a single value, not a %s", what,
		    n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
		return NULL;
	}
	const char *s = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*s || !strcmp(s, "~") || !strcmp(s, "null"))) {
		ERR(r, n, "%s: missing value", what);
		return NULL;
	}
	if (strlen(s) != n->data.scalar.length) {
		ERR(r, n, "%s: the value holds a NUL character", what);
		return NULL;
	}
	return s;
}

/* Visit a value that may be one scalar or a list of scalars. */
typedef void (*item_fn)(struct reader *r, yaml_node_t *n, const char *v, void *arg);

static void each_item(struct reader *r, yaml_node_t *n, const char *what, item_fn fn, void *arg)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		if (n->data.sequence.items.start == n->data.sequence.items.top)
			ERR(r, n, "%s: empty list", what);
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			yaml_node_t *e = node(r, *i);
			const char *v = scalar(r, e, what);
			if (v)
				fn(r, e, v, arg);
		}
		return;
	}
	const char *v = scalar(r, n, what);
	if (v)
		fn(r, n, v, arg);
}

/* What each section's entries may hold. */
enum key_status {
	KEY_OK,
	KEY_NOT_YET,	/* reserved for a later feature: an error that says so */
};

struct key_def {
	const char *name;
	enum key_status status;
};

static const char *nearest_key(const struct key_def *defs, const char *name)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX;
	for (const struct key_def *d = defs; d->name; d++) {
		size_t e = options_suggest_distance(name, d->name);
		if (e < bd) {
			bd = e;
			best = d->name;
		}
	}
	return best;
}

/*
 * Check a mapping's keys: each a scalar, none twice, each one of `defs`
 * (KEY_NOT_YET ones reported). Calls fn for each good pair.
 * \return false when `n` is not a mapping
 */
typedef void (*pair_fn)(struct reader *r, const char *key, yaml_node_t *k, yaml_node_t *v,
			void *arg);

static bool each_pair(struct reader *r, yaml_node_t *n, const char *section,
		      const struct key_def *defs, pair_fn fn, void *arg)
{
	if (n->type != YAML_MAPPING_NODE) {
		ERR(r, n, "%s: expected a mapping (key: value lines)", section);
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(r, p->key), *v = node(r, p->value);
		if (k->type != YAML_SCALAR_NODE) {
			ERR(r, k, "%s: a key must be a plain name", section);
			continue;
		}
		const char *name = (const char *)k->data.scalar.value;
		if (strlen(name) != k->data.scalar.length) {
			/* "threads\0x" would otherwise read as threads */
			ERR(r, k, "%s: a key holds a NUL character", section);
			continue;
		}
		bool dup = false;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p && !dup; q++) {
			yaml_node_t *kq = node(r, q->key);
			dup = kq->type == YAML_SCALAR_NODE &&
			      !strcmp((const char *)kq->data.scalar.value, name);
			if (dup)
				ERR(r, k, "%s: '%s' given twice (first at line %zu)", section, name,
				    kq->start_mark.line + 1);
		}
		if (dup)
			continue;
		if (defs) {
			const struct key_def *d = defs;
			while (d->name && strcmp(d->name, name))
				d++;
			if (!d->name) {
				const char *near = nearest_key(defs, name);
				if (near)
					ERR(r, k, "%s: unknown key '%s' (did you mean '%s'?)", section,
					    name, near);
				else
					ERR(r, k, "%s: unknown key '%s'", section, name);
				continue;
			}
			if (d->status == KEY_NOT_YET) {
				ERR(r, k, "%s: '%s' is not supported yet", section, name);
				continue;
			}
		}
		fn(r, name, k, v, arg);
	}
	return true;
}

/* Visit each entry of a section that is a list of mappings. */
typedef void (*entry_fn)(struct reader *r, yaml_node_t *entry);

static void each_entry(struct reader *r, yaml_node_t *n, const char *section, entry_fn fn)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		ERR(r, n, "%s: expected a list of entries (lines starting with '- ')", section);
		return;
	}
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++)
		fn(r, node(r, *i));
}

/* The scalar value of `key` in mapping `n`, or NULL. */
static yaml_node_t *get(struct reader *r, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(r, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
			return node(r, p->value);
	}
	return NULL;
}

/* An entry's `id`: present, a scalar, unique among `count` earlier ids
 * reached through `id_at`. */
static const char *entry_id(struct reader *r, yaml_node_t *e, const char *section,
			    const char *(*id_at)(const struct conf *, size_t), size_t count)
{
	if (e->type != YAML_MAPPING_NODE)
		return NULL; /* each_pair reports it */
	yaml_node_t *v = get(r, e, "id");
	if (!v) {
		ERR(r, e, "%s: an entry without 'id'", section);
		return NULL;
	}
	const char *id = scalar(r, v, "id");
	if (!id)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		if (id_at(r->c, i) && !strcmp(id_at(r->c, i), id)) {
			ERR(r, v, "%s: id '%s' defined twice", section, id);
			return NULL;
		}
	}
	return pool_printf(r->c->pool, "%s", id);
}

static void *grow(struct reader *r, void *v, size_t n, size_t size)
{
	/* Entries are few (dozens, thousands of zones at most): one realloc
	 * per entry keeps this simple. */
	void *nv = realloc(v, (n + 1) * size);
	if (!nv) {
		r->oom = true;
		return NULL;
	}
	memset((char *)nv + n * size, 0, size);
	return nv;
}

/* ---------------------------------------------------------------- server */

static void server_value(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	const struct option_def *d = arg;
	char why[256];
	const char *copy = pool_printf(r->c->pool, "%s", v);
	if (!copy) {
		r->oom = true;
		return;
	}
	if (options_set(&r->c->server, d, copy, why, sizeof(why)) < 0)
		ERR(r, n, "server.%s '%s': %s", d->name, v, why);
}

static void server_pair(struct reader *r, const char *key, yaml_node_t *k, yaml_node_t *v,
			void *arg)
{
	const struct option_def *d = options_find(key);
	if (!d || d->scope == OPTION_SCOPE_CLI) {
		const char *near = options_nearest(key, true);
		if (d)
			ERR(r, k, "server: '%s' is a command-line option, not a setting of the file",
			    key);
		else if (near)
			ERR(r, k, "server: unknown key '%s' (did you mean '%s'?)", key, near);
		else
			ERR(r, k, "server: unknown key '%s'", key);
		return;
	}
	r->c->server_set[d - options_table] = true;
	if (d->type == OPTION_ADDRS) {
		options_clear_list(&r->c->server, d);
		each_item(r, v, "server.listen", server_value, (void *)d);
		return;
	}
	const char *s = scalar(r, v, key);
	if (s)
		server_value(r, v, s, (void *)d);
}

static void read_server(struct reader *r, yaml_node_t *n)
{
	each_pair(r, n, "server", NULL, server_pair, NULL);
}

/* ---------------------------------------------------------------- key */

static const struct key_def key_keys[] = {
	{"id", KEY_OK}, {"algorithm", KEY_OK}, {"secret", KEY_OK}, {NULL, 0}};

static const char *const alg_names[] = {
	[CONF_HMAC_SHA1] = "hmac-sha1",	    [CONF_HMAC_SHA224] = "hmac-sha224",
	[CONF_HMAC_SHA256] = "hmac-sha256", [CONF_HMAC_SHA384] = "hmac-sha384",
	[CONF_HMAC_SHA512] = "hmac-sha512",
};

const char *conf_tsig_alg_name(enum conf_tsig_alg a)
{
	return alg_names[a];
}

static bool parse_dname(const char *s, uint8_t *out, size_t *len)
{
	*len = dname_from_str(s, out);
	return *len != 0;
}

static void key_pair(struct reader *r, const char *name, yaml_node_t *k, yaml_node_t *v,
		     void *arg)
{
	struct conf_key *key = arg;
	if (!strcmp(name, "id"))
		return; /* key_entry reads it (through entry_id, which reports a bad one) */
	const char *s = scalar(r, v, name);
	if (!s)
		return;
	if (!strcmp(name, "algorithm")) {
		size_t l = strlen(s);
		if (l && s[l - 1] == '.')
			l--; /* "hmac-sha256." as the name appears on the wire */
		for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
			if (strlen(alg_names[i]) == l && !strncasecmp(s, alg_names[i], l)) {
				key->alg = (enum conf_tsig_alg)i;
				key->secret_len = key->secret_len ? key->secret_len : 0;
				return;
			}
		}
		if (!strncasecmp(s, "hmac-md5", 8))
			ERR(r, v, "key.algorithm '%s': not supported (MD5 is deprecated, RFC 8945 "
				  "§6); use hmac-sha256", s);
		else
			ERR(r, v, "key.algorithm '%s': expected hmac-sha1, hmac-sha224, "
				  "hmac-sha256, hmac-sha384 or hmac-sha512", s);
		key->alg = (enum conf_tsig_alg)-1;
	} else { /* secret */
		size_t len = 0;
		if (sodium_base642bin(key->secret, sizeof(key->secret), s, strlen(s), " \t\n", &len,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len == 0)
			ERR(r, v, "key.secret: not base64 (as tsig-keygen and keymgr -t print it)%s",
			    strlen(s) * 3 / 4 > sizeof(key->secret) ? ", or longer than 256 octets"
								    : "");
		else
			key->secret_len = len;
	}
}

static const char *key_id_at(const struct conf *c, size_t i)
{
	return c->keys[i].id;
}

static void key_entry(struct reader *r, yaml_node_t *e)
{
	const char *id = entry_id(r, e, "key", key_id_at, r->c->nkeys);
	struct conf_key *v = grow(r, r->c->keys, r->c->nkeys, sizeof(*v));
	if (!v)
		return;
	r->c->keys = v;
	struct conf_key *key = &v[r->c->nkeys];
	key->alg = (enum conf_tsig_alg)-2; /* not given */
	unsigned before = r->nerr;
	if (id && !parse_dname(id, key->name, &key->name_len)) {
		ERR(r, get(r, e, "id"), "key.id '%s': not a domain name (the key's name on the wire)",
		    id);
	} else if (id) {
		/* "xfr" and "XFR." are one name on the wire: TSIG could not tell them apart */
		for (size_t i = 0; i < r->c->nkeys; i++) {
			if (v[i].name_len == key->name_len &&
			    !memcmp(v[i].name, key->name, key->name_len)) {
				ERR(r, get(r, e, "id"), "key '%s': the same name as key '%s' (first at %s)",
				    id, v[i].id, v[i].where);
				break;
			}
		}
	}
	if (!each_pair(r, e, "key", key_keys, key_pair, key))
		return;
	if (!get(r, e, "algorithm"))
		ERR(r, e, "key '%s': no algorithm", id ? id : "?");
	if (!get(r, e, "secret"))
		ERR(r, e, "key '%s': no secret", id ? id : "?");
	if (!id || r->nerr != before)
		return;
	key->id = id;
	key->where = where(r, e);
	r->c->nkeys++;
}

static const struct conf_key *find_key(struct reader *r, yaml_node_t *n, const char *id,
				       const char *section)
{
	for (size_t i = 0; i < r->c->nkeys; i++)
		if (!strcmp(r->c->keys[i].id, id))
			return &r->c->keys[i];
	ERR(r, n, "%s.key '%s': no such key (define it in the key: section)", section, id);
	return NULL;
}

/* ---------------------------------------------------------------- remote */

static const struct key_def remote_keys[] = {
	{"id", KEY_OK}, {"address", KEY_OK}, {"key", KEY_OK}, {"via", KEY_NOT_YET}, {NULL, 0}};

static void remote_address(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct conf_remote *rem = arg;
	if (rem->naddr == CONF_LIST_MAX) {
		ERR(r, n, "remote.address: at most %d addresses", CONF_LIST_MAX);
		return;
	}
	if (options_parse_addr(v, 53, &rem->addr[rem->naddr]) < 0) {
		ERR(r, n, "remote.address '%s': not an address (192.0.2.1, 192.0.2.1:53, "
			  "192.0.2.1@53, \"[2001:db8::1]:53\")", v);
		return;
	}
	rem->naddr++;
}

static void remote_pair(struct reader *r, const char *name, yaml_node_t *k, yaml_node_t *v,
			void *arg)
{
	struct conf_remote *rem = arg;
	if (!strcmp(name, "address")) {
		each_item(r, v, "remote.address", remote_address, rem);
	} else if (!strcmp(name, "key")) {
		const char *s = scalar(r, v, "remote.key");
		if (s)
			rem->key = find_key(r, v, s, "remote");
	}
}

static const char *remote_id_at(const struct conf *c, size_t i)
{
	return c->remotes[i].id;
}

static void remote_entry(struct reader *r, yaml_node_t *e)
{
	const char *id = entry_id(r, e, "remote", remote_id_at, r->c->nremotes);
	struct conf_remote *v = grow(r, r->c->remotes, r->c->nremotes, sizeof(*v));
	if (!v)
		return;
	r->c->remotes = v;
	struct conf_remote *rem = &v[r->c->nremotes];
	unsigned before = r->nerr;
	if (!each_pair(r, e, "remote", remote_keys, remote_pair, rem))
		return;
	if (!get(r, e, "address"))
		ERR(r, e, "remote '%s': no address", id ? id : "?");
	if (!id || r->nerr != before)
		return;
	rem->id = id;
	rem->where = where(r, e);
	r->c->nremotes++;
}

/* ---------------------------------------------------------------- acl */

static const struct key_def acl_keys[] = {
	{"id", KEY_OK},		{"address", KEY_OK},	 {"key", KEY_OK},
	{"action", KEY_OK},	{"deny", KEY_OK},	 {"remote", KEY_NOT_YET},
	{"update-type", KEY_NOT_YET}, {"update-owner", KEY_NOT_YET}, {NULL, 0}};

static void acl_address(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct conf_acl *acl = arg;
	char host[64];
	const char *slash = strchr(v, '/');
	size_t hl = slash ? (size_t)(slash - v) : strlen(v);
	struct conf_prefix *p = &acl->prefix[acl->nprefix];
	if (acl->nprefix == CONF_LIST_MAX) {
		ERR(r, n, "acl.address: at most %d prefixes", CONF_LIST_MAX);
		return;
	}
	memset(p, 0, sizeof(*p));
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, v, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = AF_INET;
		p->len = 32;
	} else if (inet_pton(AF_INET6, host, p->addr) == 1) {
		p->family = AF_INET6;
		p->len = 128;
	} else {
		goto bad;
	}
	if (slash) {
		char *end;
		/* digits only: strtoul alone takes " 24", "+24" and "-0" */
		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (*end || l > p->len)
			goto bad;
		p->len = (unsigned)l;
	}
	/* Bits past the prefix must be zero, as Knot and BIND require: a
	 * stray host part usually means a typo in the length. */
	for (unsigned b = p->len; b < (p->family == AF_INET ? 32u : 128u); b++) {
		if (p->addr[b / 8] & (0x80 >> (b % 8))) {
			ERR(r, n, "acl.address '%s': host bits set past the prefix length", v);
			return;
		}
	}
	acl->nprefix++;
	return;
bad:
	if (memchr(v, '-', hl))
		ERR(r, n, "acl.address '%s': address ranges are not supported; write prefixes", v);
	else
		ERR(r, n, "acl.address '%s': expected an address or a prefix (192.0.2.0/24, "
			  "\"2001:db8::/32\")", v);
}

static void acl_key(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct conf_acl *acl = arg;
	const struct conf_key *k = find_key(r, n, v, "acl");
	if (!k)
		return;
	if (acl->nkey == CONF_LIST_MAX) {
		ERR(r, n, "acl.key: at most %d keys", CONF_LIST_MAX);
		return;
	}
	acl->key[acl->nkey++] = k;
}

static void acl_action(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct conf_acl *acl = arg;
	if (!strcmp(v, "transfer"))
		acl->actions |= CONF_ACTION_TRANSFER;
	else if (!strcmp(v, "notify"))
		acl->actions |= CONF_ACTION_NOTIFY;
	else if (!strcmp(v, "update") || !strcmp(v, "query"))
		ERR(r, n, "acl.action '%s': not supported yet", v);
	else
		ERR(r, n, "acl.action '%s': expected transfer or notify", v);
}

static void acl_pair(struct reader *r, const char *name, yaml_node_t *k, yaml_node_t *v,
		     void *arg)
{
	struct conf_acl *acl = arg;
	if (!strcmp(name, "address")) {
		each_item(r, v, "acl.address", acl_address, acl);
	} else if (!strcmp(name, "key")) {
		each_item(r, v, "acl.key", acl_key, acl);
	} else if (!strcmp(name, "action")) {
		each_item(r, v, "acl.action", acl_action, acl);
	} else if (!strcmp(name, "deny")) {
		const char *s = scalar(r, v, "acl.deny");
		static const struct option_def deny = {.name = "deny", .type = OPTION_BOOL};
		struct options tmp;
		char why[64];
		if (s && options_set(&tmp, &deny, s, why, sizeof(why)) < 0)
			ERR(r, v, "acl.deny '%s': %s", s, why);
		else if (s)
			acl->deny = strchr("yYtT1", s[0]) && strcasecmp(s, "off") != 0;
		if (s && !strcasecmp(s, "on"))
			acl->deny = true;
	}
}

static const char *acl_id_at(const struct conf *c, size_t i)
{
	return c->acls[i].id;
}

static void acl_entry(struct reader *r, yaml_node_t *e)
{
	const char *id = entry_id(r, e, "acl", acl_id_at, r->c->nacls);
	struct conf_acl *v = grow(r, r->c->acls, r->c->nacls, sizeof(*v));
	if (!v)
		return;
	r->c->acls = v;
	struct conf_acl *acl = &v[r->c->nacls];
	unsigned before = r->nerr;
	if (!each_pair(r, e, "acl", acl_keys, acl_pair, acl))
		return;
	if (!get(r, e, "action"))
		ERR(r, e, "acl '%s': no action (transfer, notify)", id ? id : "?");
	if (!id || r->nerr != before)
		return;
	acl->id = id;
	acl->where = where(r, e);
	r->c->nacls++;
}

/* ---------------------------------------------------------------- template, zone */

/* The keys zones and templates share. */
#define ZONE_KEYS                                                                                  \
	{"file", KEY_OK}, {"storage", KEY_OK}, {"acl", KEY_OK}, {"notify", KEY_OK},               \
		{"primary", KEY_OK}, {"master", KEY_OK},                                          \
		{"journal-max-depth", KEY_OK}, {"journal-max-usage", KEY_OK},                     \
		{"refresh-min-interval", KEY_OK}, {"refresh-max-interval", KEY_OK},               \
		{"retry-min-interval", KEY_OK}, {"retry-max-interval", KEY_OK},                   \
		{"zone-max-size", KEY_OK}, {"zonefile-sync", KEY_OK},                             \
		{"serial-policy", KEY_OK}, {"catalog-role", KEY_OK},                              \
		{"catalog-zone", KEY_OK}, {"catalog-group", KEY_OK},                              \
		{"catalog-template", KEY_OK}, {"catalog-max-members", KEY_OK}

static const struct key_def template_keys[] = {{"id", KEY_OK}, ZONE_KEYS, {NULL, 0}};
static const struct key_def zone_keys[] = {
	{"domain", KEY_OK}, {"template", KEY_OK}, ZONE_KEYS, {NULL, 0}};

/* A storage folder as written: absolute, or relative to the file's folder. */
static const char *storage_path(struct reader *r, const char *s)
{
	if (s[0] == '/')
		return pool_printf(r->c->pool, "%s", s);
	/* the root folder already ends with its slash: "/s", not "//s" */
	return pool_printf(r->c->pool, "%s%s%s", r->dir, strcmp(r->dir, "/") ? "/" : "", s);
}

/* A file name pattern: at most one %s, and %% for a percent sign. */
static bool file_pattern_ok(const char *s)
{
	unsigned n = 0;
	for (const char *p = strchr(s, '%'); p; p = strchr(p + 2, '%')) {
		if (p[1] == 's')
			n++;
		else if (p[1] != '%')
			return false;
		if (!p[1])
			return false;
	}
	return n <= 1;
}

struct zone_fields {
	const char *storage, *file, *tpl;
	yaml_node_t *tpl_node;
	struct conf_zone_settings set;
	const char *section; /* "zone" or "template", for messages */
	const char *primary_key; /* "primary" or "master", as written */
	const char **ctpl;	/* catalog-template ids */
	size_t nctpl;
	yaml_node_t *ctpl_node;
	size_t max_members;	/* catalog-max-members, 0: not written */
};

static const char *const serial_policy_names[] = {
	[CONF_SERIAL_KEEP] = "keep",
	[CONF_SERIAL_INCREMENT] = "increment",
	[CONF_SERIAL_UNIXTIME] = "unixtime",
};

const char *conf_serial_policy_name(enum conf_serial_policy p)
{
	return serial_policy_names[p];
}

/* A list of CONF_LIST_MAX pointers in the pool, made on its first item. */
static bool list_ready(struct reader *r, void *listp)
{
	void **list = listp;
	if (*list)
		return true;
	void *mem = pool_calloc(r->c->pool, CONF_LIST_MAX, sizeof(void *));
	if (!mem) {
		r->oom = true;
		return false;
	}
	*list = mem;
	return true;
}

static void zone_acl(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct zone_fields *f = arg;
	for (size_t i = 0; i < r->c->nacls; i++) {
		if (strcmp(r->c->acls[i].id, v))
			continue;
		if (f->set.nacl == CONF_LIST_MAX)
			ERR(r, n, "%s.acl: at most %d rules", f->section, CONF_LIST_MAX);
		else if (list_ready(r, &f->set.acl))
			f->set.acl[f->set.nacl++] = &r->c->acls[i];
		return;
	}
	ERR(r, n, "%s.acl '%s': no such acl (define it in the acl: section)", f->section, v);
}

static void zone_notify(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct zone_fields *f = arg;
	for (size_t i = 0; i < r->c->nremotes; i++) {
		if (strcmp(r->c->remotes[i].id, v))
			continue;
		for (size_t k = 0; k < f->set.nnotify; k++)
			if (f->set.notify[k] == &r->c->remotes[i]) {
				ERR(r, n, "%s.notify '%s': listed twice", f->section, v);
				return;
			}
		if (f->set.nnotify == CONF_LIST_MAX)
			ERR(r, n, "%s.notify: at most %d remotes", f->section, CONF_LIST_MAX);
		else if (list_ready(r, &f->set.notify))
			f->set.notify[f->set.nnotify++] = &r->c->remotes[i];
		return;
	}
	ERR(r, n, "%s.notify '%s': no such remote (define it in the remote: section)", f->section,
	    v);
}

static void zone_primary(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct zone_fields *f = arg;
	for (size_t i = 0; i < r->c->nremotes; i++) {
		if (strcmp(r->c->remotes[i].id, v))
			continue;
		for (size_t k = 0; k < f->set.nprimary; k++)
			if (f->set.primary[k] == &r->c->remotes[i]) {
				ERR(r, n, "%s.%s '%s': listed twice", f->section, f->primary_key, v);
				return;
			}
		if (f->set.nprimary == CONF_LIST_MAX)
			ERR(r, n, "%s.%s: at most %d remotes", f->section, f->primary_key,
			    CONF_LIST_MAX);
		else if (list_ready(r, &f->set.primary))
			f->set.primary[f->set.nprimary++] = &r->c->remotes[i];
		return;
	}
	ERR(r, n, "%s.%s '%s': no such remote (define it in the remote: section)", f->section,
	    f->primary_key, v);
}

static void zone_catalog_template(struct reader *r, yaml_node_t *n, const char *v, void *arg)
{
	struct zone_fields *f = arg;
	for (size_t k = 0; k < f->nctpl; k++)
		if (!strcmp(f->ctpl[k], v)) {
			ERR(r, n, "%s.catalog-template '%s': listed twice", f->section, v);
			return;
		}
	if (f->nctpl == CONF_LIST_MAX) {
		ERR(r, n, "%s.catalog-template: at most %d templates", f->section, CONF_LIST_MAX);
		return;
	}
	if (!f->ctpl) {
		f->ctpl = pool_calloc(r->c->pool, CONF_LIST_MAX, sizeof(*f->ctpl));
		if (!f->ctpl) {
			r->oom = true;
			return;
		}
	}
	f->ctpl[f->nctpl++] = pool_printf(r->c->pool, "%s", v);
}

/* A count or a size: digits, and for sizes an optional K, M or G (powers
 * of 1024, as Knot reads them). */
static bool parse_amount(const char *s, bool size, uint64_t min, uint64_t max, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	if (size && *end) {
		const char *u = strchr("KMG", end[0] & ~0x20);
		if (!u || !*u || end[1])
			return false;
		shift = 10 * (unsigned)(u - "KMG" + 1);
		end++;
	}
	if (*end || v > (max >> shift) || (v << shift) < min)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static void zone_pair(struct reader *r, const char *name, yaml_node_t *k, yaml_node_t *v,
		      void *arg)
{
	struct zone_fields *f = arg;
	if (!strcmp(name, "id") || !strcmp(name, "domain"))
		return; /* read (and reported) by entry_id and zone_entry */
	if (!strcmp(name, "acl")) {
		f->set.has_acl = true;
		each_item(r, v, "acl", zone_acl, f);
		return;
	}
	if (!strcmp(name, "notify")) {
		f->set.has_notify = true;
		each_item(r, v, "notify", zone_notify, f);
		return;
	}
	if (!strcmp(name, "catalog-template")) {
		f->ctpl_node = v;
		each_item(r, v, name, zone_catalog_template, f);
		return;
	}
	if (!strcmp(name, "primary") || !strcmp(name, "master")) {
		/* Knot 3.2 calls it master; both are read, once */
		if (f->set.has_primary) {
			ERR(r, k, "%s: '%s' and the other name of the same setting (primary, master) "
				  "both given", f->section, name);
			return;
		}
		f->set.has_primary = true;
		f->primary_key = name;
		each_item(r, v, name, zone_primary, f);
		return;
	}
	const char *s = scalar(r, v, name);
	if (!s)
		return;
	if (!strcmp(name, "storage")) {
		f->storage = storage_path(r, s);
	} else if (!strcmp(name, "file")) {
		if (!file_pattern_ok(s))
			ERR(r, v, "file '%s': only %%s (the zone's name) and %%%% may follow %%", s);
		else
			f->file = pool_printf(r->c->pool, "%s", s);
	} else if (!strcmp(name, "template")) {
		f->tpl = s;
		f->tpl_node = v;
	} else if (!strcmp(name, "serial-policy")) {
		size_t i = 0;
		while (i < 3 && strcmp(serial_policy_names[i], s))
			i++;
		if (i == 3)
			ERR(r, v, "%s.serial-policy '%s': expected keep, increment or unixtime",
			    f->section, s);
		f->set.serial_policy = (enum conf_serial_policy)i;
		f->set.has_serial_policy = true;
	} else if (!strcmp(name, "journal-max-depth")) {
		uint64_t n;
		if (!parse_amount(s, false, 1, 100000, &n))
			ERR(r, v, "%s.journal-max-depth '%s': expected a count from 1 to 100000",
			    f->section, s);
		f->set.journal_depth = (uint32_t)n;
		f->set.has_journal_depth = true;
	} else if (!strcmp(name, "journal-max-usage")) {
		uint64_t n;
		if (!parse_amount(s, true, 64 << 10, (uint64_t)1 << 40, &n))
			ERR(r, v, "%s.journal-max-usage '%s': expected a size from 64K to 1024G "
				  "(digits, then K, M or G)", f->section, s);
		f->set.journal_usage = n;
		f->set.has_journal_usage = true;
	} else if (!strcmp(name, "refresh-min-interval") || !strcmp(name, "refresh-max-interval") ||
		   !strcmp(name, "retry-min-interval") || !strcmp(name, "retry-max-interval")) {
		uint64_t n;
		if (!parse_amount(s, false, 1, INT32_MAX, &n)) {
			ERR(r, v, "%s.%s '%s': expected seconds from 1 to 2147483647", f->section,
			    name, s);
			return;
		}
		bool refresh = name[1] == 'e' && name[2] == 'f';
		bool min = strstr(name, "-min-") != NULL;
		uint32_t *dst = refresh ? (min ? &f->set.refresh_min : &f->set.refresh_max)
					: (min ? &f->set.retry_min : &f->set.retry_max);
		bool *has = refresh ? (min ? &f->set.has_refresh_min : &f->set.has_refresh_max)
				    : (min ? &f->set.has_retry_min : &f->set.has_retry_max);
		*dst = (uint32_t)n;
		*has = true;
	} else if (!strcmp(name, "zone-max-size")) {
		uint64_t n;
		if (!parse_amount(s, true, 1, (uint64_t)1 << 40, &n))
			ERR(r, v, "%s.zone-max-size '%s': expected a size up to 1024G (digits, then "
				  "K, M or G)", f->section, s);
		f->set.zone_max_size = n;
		f->set.has_zone_max_size = true;
	} else if (!strcmp(name, "catalog-role")) {
		if (!strcmp(s, "generate")) {
			f->set.catalog_role = CONF_CATALOG_GENERATE;
		} else if (!strcmp(s, "member")) {
			f->set.catalog_role = CONF_CATALOG_MEMBER;
		} else if (!strcmp(s, "interpret")) {
			f->set.catalog_role = CONF_CATALOG_INTERPRET;
		} else {
			ERR(r, v, "%s.catalog-role '%s': expected generate, member or interpret",
			    f->section, s);
		}
		f->set.has_catalog_role = true;
	} else if (!strcmp(name, "catalog-zone")) {
		uint8_t cat[DNAME_MAX];
		if (!parse_dname(s, cat, &f->set.catalog_zone_len))
			ERR(r, v, "%s.catalog-zone '%s': not a domain name", f->section, s);
		else if (!(f->set.catalog_zone = pool_copy(r->c->pool, cat, f->set.catalog_zone_len)))
			r->oom = true;
		f->set.catalog_zone_line = v->start_mark.line + 1;
		f->set.catalog_zone_col = v->start_mark.column + 1;
		f->set.has_catalog_zone = true;
	} else if (!strcmp(name, "catalog-group")) {
		if (v->data.scalar.length > CONF_CATALOG_GROUP_MAX || strlen(s) != v->data.scalar.length)
			ERR(r, v, "%s.catalog-group: at most %d octets, no NUL", f->section,
			    CONF_CATALOG_GROUP_MAX);
		f->set.catalog_group = pool_printf(r->c->pool, "%s", s);
		f->set.has_catalog_group = true;
	} else if (!strcmp(name, "catalog-max-members")) {
		uint64_t n;
		if (!parse_amount(s, false, 1, 10000000, &n))
			ERR(r, v, "%s.catalog-max-members '%s': expected a count from 1 to 10000000",
			    f->section, s);
		f->max_members = (size_t)n;
	} else if (!strcmp(name, "zonefile-sync")) {
		uint64_t n;
		if (!strcmp(s, "-1")) {
			f->set.zonefile_sync = -1;
		} else if (parse_amount(s, false, 0, INT32_MAX, &n)) {
			f->set.zonefile_sync = (int64_t)n;
		} else {
			ERR(r, v, "%s.zonefile-sync '%s': expected seconds (0: after every change) "
				  "or -1 (only at shutdown)", f->section, s);
		}
		f->set.has_zonefile_sync = true;
	}
}

/* A zone's settings: its own, else its template's, else the defaults. */
static struct conf_zone_settings zone_settings(const struct conf_zone_settings *own,
					       const struct conf_template *tpl)
{
	static const struct conf_zone_settings none = {0};
	const struct conf_zone_settings *t = tpl ? &tpl->set : &none;
	struct conf_zone_settings s = *own;
	if (!own->has_acl && t->has_acl) {
		s.acl = t->acl;
		s.nacl = t->nacl;
	}
	if (!own->has_notify && t->has_notify) {
		s.notify = t->notify;
		s.nnotify = t->nnotify;
	}
	if (!own->has_serial_policy)
		s.serial_policy = t->serial_policy;
	if (!own->has_primary && t->has_primary) {
		s.primary = t->primary;
		s.nprimary = t->nprimary;
	}
#define INHERIT(field, has, def) \
	if (!own->has) \
		s.field = t->has ? t->field : (def)
	INHERIT(refresh_min, has_refresh_min, CONF_REFRESH_MIN_DEFAULT);
	INHERIT(refresh_max, has_refresh_max, CONF_REFRESH_MAX_DEFAULT);
	INHERIT(retry_min, has_retry_min, CONF_REFRESH_MIN_DEFAULT);
	INHERIT(retry_max, has_retry_max, CONF_REFRESH_MAX_DEFAULT);
	INHERIT(zone_max_size, has_zone_max_size, 0);
	INHERIT(zonefile_sync, has_zonefile_sync, 0);
#undef INHERIT
	if (!own->has_catalog_role)
		s.catalog_role = t->catalog_role;
	if (!own->has_catalog_zone) {
		s.catalog_zone = t->catalog_zone;
		s.catalog_zone_len = t->catalog_zone_len;
		s.catalog_zone_line = t->catalog_zone_line;
		s.catalog_zone_col = t->catalog_zone_col;
	}
	if (!own->has_catalog_group)
		s.catalog_group = t->catalog_group;
	if (!own->has_journal_depth)
		s.journal_depth = t->has_journal_depth ? t->journal_depth : CONF_JOURNAL_DEPTH_DEFAULT;
	if (!own->has_journal_usage)
		s.journal_usage = t->has_journal_usage ? t->journal_usage : CONF_JOURNAL_USAGE_DEFAULT;
	return s;
}

/* A copy of `s` in the pool, or NULL: out of memory. */
static const struct conf_zone_settings *pool_settings(struct conf_pool *p,
						      struct conf_zone_settings s)
{
	struct conf_zone_settings *v =
		pool_alloc(p, sizeof(*v), _Alignof(struct conf_zone_settings));
	if (v)
		*v = s;
	return v;
}

static const char *template_id_at(const struct conf *c, size_t i)
{
	return c->templates[i].id;
}

static void template_entry(struct reader *r, yaml_node_t *e)
{
	const char *id = entry_id(r, e, "template", template_id_at, r->c->ntemplates);
	struct conf_template *v = grow(r, r->c->templates, r->c->ntemplates, sizeof(*v));
	if (!v)
		return;
	r->c->templates = v;
	struct zone_fields f = {.section = "template"};
	unsigned before = r->nerr;
	if (!each_pair(r, e, "template", template_keys, zone_pair, &f))
		return;
	if (!id || r->nerr != before)
		return;
	v[r->c->ntemplates++] = (struct conf_template){.id = id,
						       .storage = f.storage,
						       .file = f.file,
						       .set = f.set,
						       .catalog_tpl_ids = f.ctpl,
						       .ncatalog_tpl_ids = f.nctpl,
						       .catalog_max_members = f.max_members,
						       .where = where(r, e)};
}

/* storage/pattern with %s replaced by the zone's name without its final dot. */
static const char *zone_file(struct reader *r, const char *storage, const char *pattern,
			     const char *name)
{
	char zn[DNAME_STR_MAX];
	size_t l = strlen(name);
	if (l == 1)
		snprintf(zn, sizeof(zn), "root"); /* "." */
	else
		snprintf(zn, sizeof(zn), "%.*s", (int)(l - 1), name);
	char path[PATH_MAX * 2];
	size_t n = 0;
	if (pattern[0] != '/')
		n = (size_t)snprintf(path, sizeof(path), "%s/", storage);
	for (const char *p = pattern; *p && n < sizeof(path) - 1; p++) {
		if (p[0] == '%' && p[1] == 's') {
			n += (size_t)snprintf(path + n, sizeof(path) - n, "%s", zn);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			path[n++] = '%';
			p++;
		} else {
			path[n++] = *p;
		}
	}
	path[n < sizeof(path) ? n : sizeof(path) - 1] = 0;
	return pool_printf(r->c->pool, "%s", path);
}

/* A catalog-role interpret zone's catalog-template list (its own, else its
 * template's, else the template "default") and catalog-max-members. */
static bool catalog_templates(struct reader *r, struct conf_zone *z, const struct zone_fields *f,
			      yaml_node_t *dn)
{
	const char **ids = f->ctpl;
	size_t n = f->nctpl;
	yaml_node_t *at = f->ctpl_node ? f->ctpl_node : dn;
	if (!n && z->tpl) {
		ids = z->tpl->catalog_tpl_ids;
		n = z->tpl->ncatalog_tpl_ids;
	}
	z->catalog_max_members = f->max_members ? f->max_members
				 : z->tpl && z->tpl->catalog_max_members ? z->tpl->catalog_max_members
									 : CONF_CATALOG_MAX_MEMBERS_DEFAULT;
	if (z->set->catalog_role != CONF_CATALOG_INTERPRET) {
		if (f->nctpl || f->max_members) {
			ERR(r, f->nctpl ? at : dn, "zone '%s': %s without catalog-role interpret",
			    z->domain, f->nctpl ? "catalog-template" : "catalog-max-members");
			return false;
		}
		return true;
	}
	static const char *const dflt[] = {"default"};
	bool implicit = !n;
	if (implicit) {
		ids = (const char **)dflt;
		n = 1;
	}
	const struct conf_template **v = pool_calloc(r->c->pool, n, sizeof(*v));
	if (!v) {
		r->oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t t = 0; t < r->c->ntemplates && !v[i]; t++)
			if (!strcmp(r->c->templates[t].id, ids[i]))
				v[i] = &r->c->templates[t];
		if (v[i])
			continue;
		if (implicit)
			ERR(r, dn, "zone '%s': catalog-role interpret without catalog-template (and "
				   "no template 'default'): its members would have no primary",
			    z->domain);
		else
			ERR(r, at, "zone '%s': catalog-template '%s': no such template", z->domain,
			    ids[i]);
		return false;
	}
	z->catalog_tpl = v;
	z->ncatalog_tpl = n;
	return true;
}

static void zone_entry(struct reader *r, yaml_node_t *e)
{
	if (e->type != YAML_MAPPING_NODE) {
		ERR(r, e, "zone: expected a mapping (domain: ..., file: ...)");
		return;
	}
	yaml_node_t *dn = get(r, e, "domain");
	const char *domain = NULL;
	uint8_t apex[DNAME_MAX];
	size_t apex_len = 0;
	if (!dn) {
		ERR(r, e, "zone: an entry without 'domain'");
	} else if ((domain = scalar(r, dn, "domain")) && !parse_dname(domain, apex, &apex_len)) {
		ERR(r, dn, "zone.domain '%s': not a domain name", domain);
		domain = NULL;
	}
	struct zone_fields f = {.section = "zone"};
	unsigned before = r->nerr;
	if (!each_pair(r, e, "zone", zone_keys, zone_pair, &f))
		return;
	const struct conf_template *tpl = NULL;
	for (size_t i = 0; i < r->c->ntemplates; i++) {
		if (f.tpl ? !strcmp(r->c->templates[i].id, f.tpl)
			  : !strcmp(r->c->templates[i].id, "default"))
			tpl = &r->c->templates[i];
	}
	if (f.tpl && !tpl)
		ERR(r, f.tpl_node, "zone.template '%s': no such template", f.tpl);
	if (!domain || r->nerr != before)
		return;
	for (size_t i = 0; i < r->c->nzones; i++) {
		if (r->c->zones[i].apex_len == apex_len &&
		    !memcmp(r->c->zones[i].apex, apex, apex_len)) {
			ERR(r, dn, "zone '%s' defined twice (first at %s)", domain,
			    r->c->zones[i].where);
			return;
		}
	}
	struct conf_zone *v = grow(r, r->c->zones, r->c->nzones, sizeof(*v));
	if (!v)
		return;
	r->c->zones = v;
	struct conf_zone *z = &v[r->c->nzones];
	char name[DNAME_STR_MAX];
	dname_to_str(apex, name, sizeof(name));
	const char *storage = f.storage ? f.storage
			      : tpl && tpl->storage ? tpl->storage
						    : CONF_STORAGE_DEFAULT;
	const char *pattern = f.file ? f.file : tpl && tpl->file ? tpl->file : CONF_FILE_DEFAULT;
	*z = (struct conf_zone){.domain = pool_printf(r->c->pool, "%s", domain),
				.apex_len = apex_len,
				.name = pool_printf(r->c->pool, "%s", name),
				.tpl = tpl,
				.storage = storage,
				.set = pool_settings(r->c->pool, zone_settings(&f.set, tpl)),
				.where = where(r, dn)};
	if (!z->set || !(z->apex = pool_copy(r->c->pool, apex, apex_len))) {
		r->oom = true;
		return;
	}
	z->file = zone_file(r, storage, pattern, name);
	if (z->set->refresh_min > z->set->refresh_max || z->set->retry_min > z->set->retry_max) {
		ERR(r, dn, "zone '%s': a %s-min-interval above its %s-max-interval", domain,
		    z->set->refresh_min > z->set->refresh_max ? "refresh" : "retry",
		    z->set->refresh_min > z->set->refresh_max ? "refresh" : "retry");
		return;
	}
	if (z->set->catalog_role == CONF_CATALOG_MEMBER && !z->set->catalog_zone_len) {
		ERR(r, dn, "zone '%s': catalog-role member without catalog-zone", domain);
		return;
	}
	if (z->set->catalog_role != CONF_CATALOG_MEMBER && z->set->catalog_zone_len) {
		ERR(r, dn, "zone '%s': catalog-zone without catalog-role member", domain);
		return;
	}
	if (!catalog_templates(r, z, &f, dn))
		return;
	if (z->set->catalog_role == CONF_CATALOG_GENERATE && z->set->nprimary) {
		ERR(r, dn, "zone '%s': catalog-role generate with %s (shoal writes the catalog, "
			   "it cannot also transfer it in)", domain, f.primary_key ? f.primary_key
										: "primary");
		return;
	}
	r->c->nzones++;
}

/* Each member's catalog-zone names a zone of the file whose role is
 * generate (known only once every zone is read). */
static void check_catalogs(struct reader *r)
{
	for (size_t i = 0; i < r->c->nzones; i++) {
		const struct conf_zone *z = &r->c->zones[i];
		if (z->set->catalog_role != CONF_CATALOG_MEMBER)
			continue;
		const struct conf_zone *cat =
			conf_zone_find(r->c, z->set->catalog_zone, z->set->catalog_zone_len);
		if (cat && cat->set->catalog_role == CONF_CATALOG_GENERATE)
			continue;
		char name[DNAME_STR_MAX];
		dname_to_str(z->set->catalog_zone, name, sizeof(name));
		yaml_mark_t m = {.line = z->set->catalog_zone_line - 1,
				 .column = z->set->catalog_zone_col - 1};
		if (!cat)
			report(r, &m, "zone '%s': catalog-zone '%s': no such zone", z->domain, name);
		else
			report(r, &m, "zone '%s': catalog-zone '%s' is not a catalog-role generate "
				      "zone", z->domain, name);
	}
}

char *conf_storage_file(const struct conf_zone *cz, const char *suffix)
{
	size_t l = strlen(cz->name);
	char buf[PATH_MAX];
	int n;
	if (l == 1)
		n = snprintf(buf, sizeof(buf), "%s/root%s", cz->storage, suffix);
	else
		n = snprintf(buf, sizeof(buf), "%s/%.*s%s", cz->storage, (int)(l - 1), cz->name,
			     suffix);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

/* ---------------------------------------------------------------- top */

static const struct key_def top_keys[] = {
	{"server", KEY_OK}, {"key", KEY_OK}, {"remote", KEY_OK},
	{"acl", KEY_OK},    {"template", KEY_OK}, {"zone", KEY_OK},
	{NULL, 0}};

struct sections {
	yaml_node_t *server, *key, *remote, *acl, *template, *zone;
};

static void top_pair(struct reader *r, const char *name, yaml_node_t *k, yaml_node_t *v,
		     void *arg)
{
	struct sections *s = arg;
	/* "key:" with nothing under it is an empty section, not an error */
	if (v->type == YAML_SCALAR_NODE && !v->data.scalar.length &&
	    v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return;
	if (!strcmp(name, "server"))
		s->server = v;
	else if (!strcmp(name, "key"))
		s->key = v;
	else if (!strcmp(name, "remote"))
		s->remote = v;
	else if (!strcmp(name, "acl"))
		s->acl = v;
	else if (!strcmp(name, "template"))
		s->template = v;
	else
		s->zone = v;
}

struct conf *conf_ref(struct conf *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void conf_free(struct conf *c)
{
	if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	pool_free(c->pool);
	if (c->base) {
		/* the keys, remotes, acls and templates are the base's */
		conf_free(c->base);
	} else {
		sodium_memzero(c->keys, c->nkeys * sizeof(*c->keys));
		free(c->keys);
		free(c->remotes);
		free(c->acls);
		free(c->templates);
	}
	free(c->zones);
	free(c->zindex);
	free(c);
}

/* conf_zone_find's table: at most half full. */
static bool index_zones(struct conf *c)
{
	size_t slots = 16;
	while (slots < 2 * c->nzones)
		slots *= 2;
	uint32_t *t = calloc(slots, sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; i < c->nzones; i++) {
		size_t h = (size_t)dname_hash(c->zones[i].apex, c->zones[i].apex_len) & (slots - 1);
		while (t[h])
			h = (h + 1) & (slots - 1);
		t[h] = (uint32_t)i + 1;
	}
	free(c->zindex);
	c->zindex = t;
	c->zmask = slots - 1;
	return true;
}

const struct conf_template *conf_member_template(const struct conf_zone *cat, const char *group)
{
	if (!cat->ncatalog_tpl)
		return NULL;
	for (size_t i = 0; group && i < cat->ncatalog_tpl; i++)
		if (!strcmp(cat->catalog_tpl[i]->id, group))
			return cat->catalog_tpl[i];
	return cat->catalog_tpl[0];
}

/* The settings of a member that takes `tpl` (NULL: none), in the pool. */
static const struct conf_zone_settings *member_settings(struct conf_pool *p,
							const struct conf_template *tpl)
{
	struct conf_zone_settings s = zone_settings(&(struct conf_zone_settings){0}, tpl);
	/* a member is a member of its catalog only, never of a generated one */
	s.catalog_role = CONF_CATALOG_NONE;
	s.catalog_zone = NULL;
	s.catalog_zone_len = 0;
	s.catalog_group = NULL;
	return pool_settings(p, s);
}

struct conf *conf_derive(struct conf *base, const struct conf_member *m, size_t n)
{
	struct conf *c = calloc(1, sizeof(*c));
	if (!c || !(c->pool = calloc(1, sizeof(*c->pool))) ||
	    !(c->zones = calloc(base->nzones + n + 1, sizeof(*c->zones)))) {
		conf_free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->base = conf_ref(base);
	c->path = base->path;
	c->server = base->server;
	memcpy(c->server_set, base->server_set, sizeof(c->server_set));
	c->keys = base->keys;
	c->nkeys = base->nkeys;
	c->remotes = base->remotes;
	c->nremotes = base->nremotes;
	c->acls = base->acls;
	c->nacls = base->nacls;
	c->templates = base->templates;
	c->ntemplates = base->ntemplates;
	memcpy(c->zones, base->zones, base->nzones * sizeof(*c->zones));
	c->nzones = base->nzones;
	/* a reader whose pool the entries below live in */
	struct reader r = {.c = c};
	/* the members' settings, made once per template (the last: none) and
	 * shared by every member that takes it */
	const struct conf_zone_settings **shared = calloc(c->ntemplates + 1, sizeof(*shared));
	if (!shared) {
		conf_free(c);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct conf_template *tpl = conf_member_template(m[i].catalog, m[i].group);
		/* one of the base's templates, as catalog_templates picks them */
		size_t t = 0;
		while (t < c->ntemplates && &c->templates[t] != tpl)
			t++;
		const struct conf_zone_settings *set;
		if (tpl && t == c->ntemplates)
			set = member_settings(c->pool, tpl); /* not the base's: not shared */
		else if (!(set = shared[t]))
			set = shared[t] = member_settings(c->pool, tpl);
		struct conf_zone *z = &c->zones[c->nzones];
		char name[DNAME_STR_MAX], id[DNAME_STR_MAX];
		uint8_t label[DNAME_MAX];
		dname_to_str(m[i].apex, name, sizeof(name));
		/* the label alone, as a one-label name without its final dot */
		memcpy(label, m[i].id, (size_t)m[i].id[0] + 1);
		label[m[i].id[0] + 1] = 0;
		dname_to_str(label, id, sizeof(id));
		id[strlen(id) > 1 ? strlen(id) - 1 : 0] = 0;
		const char *storage = tpl && tpl->storage ? tpl->storage : CONF_STORAGE_DEFAULT;
		const char *pattern = tpl && tpl->file ? tpl->file : CONF_FILE_DEFAULT;
		*z = (struct conf_zone){
			.domain = pool_printf(c->pool, "%s", name),
			.apex_len = m[i].apex_len,
			.tpl = tpl,
			.storage = storage,
			.set = set,
			.where = pool_printf(c->pool, "catalog %s, member %s", m[i].catalog->name, id),
			.catalog_max_members = 0,
			.member_of = m[i].catalog->name,
			.member_id = pool_printf(c->pool, "%s", id),
			.member_group = m[i].group ? pool_printf(c->pool, "%s", m[i].group) : NULL,
		};
		z->name = z->domain;
		z->apex = pool_copy(c->pool, m[i].apex, m[i].apex_len);
		z->file = zone_file(&r, storage, pattern, name);
		if (!z->set || !z->domain || !z->apex || !z->where || !z->member_id || !z->file ||
		    (m[i].group && !z->member_group)) {
			free(shared);
			conf_free(c);
			return NULL;
		}
		c->nzones++;
	}
	free(shared);
	if (!index_zones(c)) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Where libyaml's error is. A reader error (bad UTF-8, a control
 * character, a NUL) carries an octet offset instead of a mark: count the
 * lines and characters before it, as libyaml's marks count them. */
static yaml_mark_t error_mark(const yaml_parser_t *p, const char *text, size_t len)
{
	if (p->error != YAML_READER_ERROR)
		return p->problem_mark;
	yaml_mark_t m = {.index = p->problem_offset};
	size_t end = p->problem_offset < len ? p->problem_offset : len, i = 0;
	if (end >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3; /* the byte order mark takes no column */
	for (; i < end; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\r' && i + 1 < end && text[i + 1] == '\n')
			continue; /* CR LF: one line break */
		if (ch == '\n' || ch == '\r') {
			m.line++;
			m.column = 0;
		} else if ((ch & 0xc0) != 0x80) { /* not a UTF-8 continuation octet */
			m.column++;
		}
	}
	return m;
}

int conf_load_buf(const char *name, const char *text, size_t len, conf_diag_fn diag, void *ctx,
		  struct conf **out)
{
	struct reader r = {.file = name, .diag = diag, .ctx = ctx};
	yaml_parser_t parser;
	bool have_doc = false;
	int ret = -1;

	*out = NULL;
	r.c = calloc(1, sizeof(*r.c));
	if (!r.c || !(r.c->pool = calloc(1, sizeof(*r.c->pool)))) {
		report(&r, NULL, "out of memory");
		goto out;
	}
	atomic_init(&r.c->refs, 1);
	r.c->path = pool_printf(r.c->pool, "%s", name);
	options_defaults(&r.c->server);
	/* The folder a relative storage is taken from: the file's. */
	const char *slash = strrchr(name, '/');
	if (!slash)
		snprintf(r.dir, sizeof(r.dir), ".");
	else if (slash == name)
		snprintf(r.dir, sizeof(r.dir), "/");
	else
		snprintf(r.dir, sizeof(r.dir), "%.*s", (int)(slash - name), name);
	if (r.dir[0] != '/') {
		/* absolute, so a reload after a chdir reads the same files */
		char *abs = realpath(r.dir, NULL);
		if (abs)
			snprintf(r.dir, sizeof(r.dir), "%s", abs);
		free(abs);
	}

	if (!yaml_parser_initialize(&parser)) {
		report(&r, NULL, "out of memory");
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &r.doc)) {
		yaml_mark_t m = error_mark(&parser, text, len);
		report(&r, &m, "YAML: %s%s%s", parser.problem ? parser.problem : "cannot parse",
		       parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		goto out;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&r.doc);
	if (root) {
		/* One document: a second one would be silently ignored. */
		yaml_document_t next;
		if (yaml_parser_load(&parser, &next)) {
			yaml_node_t *nr = yaml_document_get_root_node(&next);
			if (nr)
				report(&r, &nr->start_mark,
				       "a second YAML document ('---'): put everything in one");
			yaml_document_delete(&next);
		} else {
			yaml_mark_t m = error_mark(&parser, text, len);
			report(&r, &m, "YAML: %s", parser.problem ? parser.problem : "cannot parse");
		}
	}
	yaml_parser_delete(&parser);
	if (root && root->type == YAML_SCALAR_NODE && !root->data.scalar.length &&
	    root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		root = NULL; /* "---" alone: an empty document, as an empty file */
	if (!root) {
		/* An empty file: every default, no zone. */
		ret = r.nerr ? -1 : 0;
		goto done;
	}
	struct sections s = {0};
	if (!each_pair(&r, root, "configuration", top_keys, top_pair, &s))
		goto done;
	/* In the order references need, whatever the file's order. */
	if (s.server)
		read_server(&r, s.server);
	if (s.key)
		each_entry(&r, s.key, "key", key_entry);
	if (s.remote)
		each_entry(&r, s.remote, "remote", remote_entry);
	if (s.acl)
		each_entry(&r, s.acl, "acl", acl_entry);
	if (s.template)
		each_entry(&r, s.template, "template", template_entry);
	if (s.zone)
		each_entry(&r, s.zone, "zone", zone_entry);
	if (!index_zones(r.c))
		r.oom = true;
	else
		check_catalogs(&r);
	if (r.oom)
		report(&r, NULL, "out of memory");
	ret = r.nerr ? -1 : 0;
done:
	if (ret == 0) {
		*out = r.c;
		r.c = NULL;
	}
out:
	if (have_doc)
		yaml_document_delete(&r.doc);
	conf_free(r.c);
	return ret;
}

int conf_load(const char *path, conf_diag_fn diag, void *ctx, struct conf **out)
{
	char *text = NULL;
	size_t len = 0, cap = 0;
	int ret = -1;
	FILE *f = fopen(path, "r");
	*out = NULL;
	if (!f) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(errno));
		if (diag)
			diag(ctx, msg);
		return -1;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *t = realloc(text, cap);
			if (!t)
				goto out;
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(errno));
		if (diag)
			diag(ctx, msg);
		goto out;
	}
	ret = conf_load_buf(path, text ? text : "", len, diag, ctx, out);
out:
	if (ret < 0 && !text && diag)
		diag(ctx, "out of memory");
	free(text);
	fclose(f);
	return ret;
}

const struct conf_zone *conf_zone_find(const struct conf *c, const uint8_t *apex, size_t len)
{
	if (!c || !c->zindex)
		return NULL;
	size_t h = (size_t)dname_hash(apex, len) & c->zmask;
	for (uint32_t k; (k = c->zindex[h]); h = (h + 1) & c->zmask) {
		const struct conf_zone *z = &c->zones[k - 1];
		if (z->apex_len == len && !memcmp(z->apex, apex, len))
			return z;
	}
	return NULL;
}
