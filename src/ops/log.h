/* log.h: leveled logging to stderr (journald-friendly) or syslog. */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/**
 * Configure logging. Call once at start-up, before threads exist.
 * \param level   messages above this level are discarded
 * \param use_syslog  true: syslog(3) with ident "shoal"; false: stderr
 */
void log_init(enum log_level level, bool use_syslog);

/** Change the level (a reload's log-level); any thread may be logging. */
void log_set_level(enum log_level level);

/** Parse "err", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);

/** The current level (for callers that want to skip formatting work). */
enum log_level log_get_level(void);

/** Log one line. Thread-safe: one write(2) per line on stderr. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Rate-limited logging for the query path: at most `burst` lines per second
 * per call site (the caller owns the limiter state, one per thread or
 * site), then one line saying how many were suppressed.
 */
struct log_limiter {
	long second;
	unsigned count;
	unsigned suppressed;
};
void log_limited(struct log_limiter *lim, unsigned burst, enum log_level level, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG)                                              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
