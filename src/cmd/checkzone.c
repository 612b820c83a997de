/* checkzone.c: shoal-checkzone, the loader without the server. Prints
 * every problem as file:line: reason; exit 0 when every file is clean. */
#include <getopt.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dns/dname.h"
#include "zone/zone_load.h"

static void diag_print(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		       const char *reason)
{
	unsigned *warnings = ctx;
	if (sev == ZONE_DIAG_WARNING)
		(*warnings)++;
	char msg[2048];
	zone_diag_format(msg, sizeof(msg), sev, file, line, reason);
	fprintf(stderr, "%s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: shoal-checkzone [--origin NAME] FILE...\n"
		   "Load zone files with shoal's loader and report every problem as\n"
		   "file:line: reason. The origin is taken from each file name\n"
		   "(<origin>.zone) unless --origin is given.\n"
		   "Exit status: 0 all files clean, 1 errors found, 2 bad usage.\n"
		   "  -o, --origin NAME   the zone's origin (one FILE only)\n"
		   "  -q, --quiet         print only problems\n"
		   "  -h, --help          this text\n"
		   "  -V, --version       print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"origin", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *origin_str = NULL;
	bool quiet = false;
	int c, bad = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			origin_str = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shoal-checkzone %s (ldns %s)\n", SHOAL_VERSION, ldns_version());
			return 0;
		case ':':
			fprintf(stderr, "shoal-checkzone: %s: missing argument\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "shoal-checkzone: unknown option %s (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	if (origin_str && argc - optind != 1) {
		fprintf(stderr, "shoal-checkzone: --origin takes exactly one FILE\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		uint8_t origin[DNAME_MAX];
		size_t olen = 0;
		unsigned nerr = 0, warnings = 0;
		if (origin_str) {
			ldns_rdf *d = NULL;
			char buf[1100];
			snprintf(buf, sizeof(buf), "%s%s", origin_str,
				 origin_str[strlen(origin_str) - 1] == '.' ? "" : ".");
			if (ldns_str2rdf_dname(&d, buf) == LDNS_STATUS_OK && d &&
			    ldns_rdf_size(d) <= DNAME_MAX) {
				olen = ldns_rdf_size(d);
				memcpy(origin, ldns_rdf_data(d), olen);
			}
			ldns_rdf_deep_free(d);
			if (!olen) {
				fprintf(stderr, "shoal-checkzone: --origin %s: not a domain name\n",
					origin_str);
				return 2;
			}
		} else if (!(olen = zone_origin_from_path(path, origin))) {
			fprintf(stderr, "%s: file name is not <origin>.zone; give --origin\n", path);
			bad = 1;
			continue;
		}
		struct zone *z = zone_load_file(path, origin, diag_print, &warnings, &nerr);
		char nb[1024];
		if (!z) {
			fprintf(stderr, "%s: zone %s has %u error%s\n", path,
				dname_to_str(origin, nb, sizeof(nb)), nerr, nerr == 1 ? "" : "s");
			bad = 1;
			continue;
		}
		if (!quiet)
			printf("%s: zone %s serial %u is OK: %zu records, %zu names%s\n", path,
			       dname_to_str(z->apex, nb, sizeof(nb)), z->serial, z->nrecords,
			       z->nnodes, warnings ? " (with warnings)" : "");
		zone_free(z);
	}
	return bad;
}
