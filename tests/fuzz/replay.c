/* replay.c: main() of a fuzz target built without libFuzzer: every file of
 * the directories (or the files) named on the command line goes through
 * LLVMFuzzerTestOneInput once. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Larger than any saved input: scripts/fuzz caps new ones far below. */
#define REPLAY_MAX (1u << 20)

static uint8_t data[REPLAY_MAX];

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		perror(path);
		return -1;
	}
	size_t len = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(data, len);
	return 1;
}

static int replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return -1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char f[8192];
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		if (replay_file(f) < 0) {
			n = -1;
			break;
		}
		n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	int total = 0;
	for (int i = 1; i < argc; i++) {
		int n = replay(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %d inputs\n", total);
	fuzz_cleanup();
	return 0;
}
