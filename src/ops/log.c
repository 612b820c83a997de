/* log.c: leveled logging. */
#include "ops/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_LVL_INFO;
static bool g_syslog;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_init(enum log_level level, bool use_syslog)
{
	g_level = level;
	g_syslog = use_syslog;
	if (use_syslog)
		openlog("shoal", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	/* workers read it while the main thread changes it on reload */
	__atomic_store_n(&g_level, level, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s)
{
	if (!strcmp(s, "err") || !strcmp(s, "error"))
		return LOG_LVL_ERR;
	if (!strcmp(s, "warn") || !strcmp(s, "warning"))
		return LOG_LVL_WARN;
	if (!strcmp(s, "info"))
		return LOG_LVL_INFO;
	if (!strcmp(s, "debug"))
		return LOG_LVL_DEBUG;
	return -1;
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int sys_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[2048];
	int n;

	if (level > log_get_level())
		return;
	if (g_syslog) {
		vsyslog(sys_prio[level], fmt, ap);
		return;
	}
	/* "<N>" prefixes are understood by journald (sd-daemon(3)) when stderr
	 * goes to the journal; on a terminal they are short enough to read. */
	n = snprintf(line, sizeof(line), "<%d>shoal[%ld]: %s: ", sys_prio[level], (long)getpid(),
		     level_names[level]);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write(2) per line keeps lines from different threads whole. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_limited(struct log_limiter *lim, unsigned burst, enum log_level level, const char *fmt,
		 ...)
{
	struct timespec ts;
	va_list ap;

	if (level > log_get_level())
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec != lim->second) {
		if (lim->suppressed)
			log_msg(level, "(%u similar messages suppressed)", lim->suppressed);
		lim->second = ts.tv_sec;
		lim->count = 0;
		lim->suppressed = 0;
	}
	if (lim->count >= burst) {
		lim->suppressed++;
		return;
	}
	lim->count++;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
