/* mangen.c: fills the man pages' settings from the settings table, at build
 * time: `shoal-mangen IN OUT` copies IN to OUT, replacing a line
 * "@OPTIONS@" with every command-line option (shoal(8)) and a line
 * "@SERVER_KEYS@" with every key of the file's server: section
 * (shoal.conf(5)). Not installed. */
#include <stdio.h>
#include <string.h>

#include "ops/options.h"

int main(int argc, char **argv)
{
	char line[4096];
	if (argc != 3) {
		fprintf(stderr, "usage: shoal-mangen IN OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	FILE *out = fopen(argv[2], "w");
	if (!in || !out) {
		perror(!in ? argv[1] : argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		if (!strcmp(line, "@OPTIONS@\n"))
			options_man(out, true);
		else if (!strcmp(line, "@SERVER_KEYS@\n"))
			options_man(out, false);
		else
			fputs(line, out);
	}
	fclose(in);
	return fclose(out) == 0 ? 0 : 1;
}
