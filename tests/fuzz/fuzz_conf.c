/*
 * fuzz_conf.c - libFuzzer target: any bytes as a configuration file,
 * through conf_load_buf (libyaml, then every section's checks). Either
 * the file loads without a message, or it fails with between one and
 * CONF_ERRORS_MAX messages, each "fuzz.conf:LINE:COLUMN: reason" (1-based)
 * or "fuzz.conf: reason". A configuration that loads must hold what the
 * rest of the server relies on: absolute zone files, one entry per apex,
 * keys with a known algorithm and a secret, remotes with an address.
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus-conf.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ops/conf.h"
#include "ops/options.h"

struct seen {
	unsigned n;
	size_t size; /* of the input: no line or column can be past it */
};

static void check_diag(void *ctx, const char *msg)
{
	struct seen *s = ctx;
	static const char prefix[] = "fuzz.conf:";
	s->n++;
	if (s->n > CONF_ERRORS_MAX)
		abort(); /* the reader stops reporting at CONF_ERRORS_MAX */
	if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
		abort(); /* every message names the file */
	const char *p = msg + sizeof(prefix) - 1;
	if (*p != ' ') {
		unsigned long line, col;
		int used = 0;
		if (sscanf(p, "%lu:%lu: %n", &line, &col, &used) != 2 || used == 0)
			abort(); /* "LINE:COLUMN: " */
		if (line < 1 || col < 1 || line > s->size + 1 || col > s->size + 1)
			abort(); /* 1-based, within the input */
		p += used;
	} else {
		p++;
	}
	if (!*p)
		abort(); /* and a reason */
	/* The last message says it is the last; a value may hold the words,
	 * but always inside quotes, never at the end. */
	char note[64];
	int nl = snprintf(note, sizeof(note), " (%d errors: stopping here)", CONF_ERRORS_MAX);
	size_t ml = strlen(msg);
	bool noted = ml >= (size_t)nl && !strcmp(msg + ml - (size_t)nl, note);
	if (noted != (s->n == CONF_ERRORS_MAX) && (noted || ml < 900))
		abort(); /* (a message of 1,000 characters has no room left for the note) */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

void fuzz_cleanup(void)
{
}

static void check_conf(const struct conf *c)
{
	char buf[LISTEN_MAX * 80];
	for (const struct option_def *d = options_table; d->name; d++)
		options_format(&c->server, d, buf, sizeof(buf));
	for (size_t i = 0; i < c->nkeys; i++) {
		const struct conf_key *k = &c->keys[i];
		if (!k->id || !k->where || (unsigned)k->alg > CONF_HMAC_SHA512 ||
		    k->secret_len == 0 || k->secret_len > CONF_SECRET_MAX || k->name_len == 0 ||
		    k->name_len > DNAME_MAX)
			abort();
		if (!conf_tsig_alg_name(k->alg))
			abort();
	}
	for (size_t i = 0; i < c->nremotes; i++)
		if (!c->remotes[i].id || c->remotes[i].naddr == 0 ||
		    c->remotes[i].naddr > CONF_LIST_MAX)
			abort();
	for (size_t i = 0; i < c->nacls; i++)
		if (!c->acls[i].id || c->acls[i].actions == 0 ||
		    c->acls[i].nprefix > CONF_LIST_MAX || c->acls[i].nkey > CONF_LIST_MAX)
			abort();
	for (size_t i = 0; i < c->ntemplates; i++)
		if (!c->templates[i].id ||
		    (c->templates[i].storage && c->templates[i].storage[0] != '/'))
			abort();
	for (size_t i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];
		size_t nl = z->name ? strlen(z->name) : 0;
		if (!z->domain || nl == 0 || z->name[nl - 1] != '.' || !z->storage ||
		    z->storage[0] != '/' || !z->file || z->file[0] != '/' || z->apex_len == 0 ||
		    z->apex_len > DNAME_MAX)
			abort(); /* absolute paths, a name with its final dot */
		if (conf_zone_find(c, z->apex, z->apex_len) != z)
			abort(); /* one entry per apex */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {.size = size};
	struct conf *c = NULL;
	int r = conf_load_buf("fuzz.conf", (const char *)data, size, check_diag, &s, &c);
	if (r == 0) {
		if (!c || s.n != 0)
			abort(); /* a configuration exactly when nothing was wrong */
		check_conf(c);
		conf_free(c);
	} else if (r != -1 || c || s.n == 0) {
		abort(); /* a failure gives no configuration and at least one reason */
	}
	return 0;
}
