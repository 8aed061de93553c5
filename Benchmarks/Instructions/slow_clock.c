/* Preloaded into a server counted per connect: its monotonic clocks run SLOW_CLOCK times slower (default 50), so
   the Engine.IO heartbeat (a ping every 25 s, a close 20 s later when the counting client does not answer) does not
   fire while thousands of connects run under callgrind for minutes. Without it the count of a connect included
   pings and heartbeat closes (the floor server sends none). Absolute timerfd deadlines (libdispatch arms its timers
   that way) are mapped back to the real clock, or its threads would spin on timers that are always due.
   CLOCK_REALTIME is left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_timerfd_create)(int, int);
static int (*real_timerfd_settime)(int, int, const struct itimerspec *, struct itimerspec *);
static long long origin = -1;
static long long factor = 50;
static unsigned char slowed_fd[65536];  /* timerfds on a slowed clock */

static int slowed(clockid_t clock) {
    return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_BOOTTIME;
}

static void setup(void) {
    if (real_clock_gettime) return;
    real_timerfd_create = (int (*)(int, int))dlsym(RTLD_NEXT, "timerfd_create");
    real_timerfd_settime = (int (*)(int, int, const struct itimerspec *, struct itimerspec *))dlsym(RTLD_NEXT, "timerfd_settime");
    const char *text = getenv("SLOW_CLOCK");
    if (text && atoll(text) > 0) factor = atoll(text);
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    setup();
    int result = real_clock_gettime(clock, ts);
    if (result != 0 || !slowed(clock)) return result;
    long long now = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
    if (origin < 0) __sync_bool_compare_and_swap(&origin, -1LL, now);
    long long slow = origin + (now - origin) / factor;
    ts->tv_sec = slow / 1000000000LL;
    ts->tv_nsec = slow % 1000000000LL;
    return result;
}

int timerfd_create(int clock, int flags) {
    setup();
    int fd = real_timerfd_create(clock, flags);
    if (fd >= 0 && fd < 65536) slowed_fd[fd] = (unsigned char)slowed(clock);
    return fd;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *value, struct itimerspec *old) {
    setup();
    if (!(flags & TFD_TIMER_ABSTIME) || fd < 0 || fd >= 65536 || !slowed_fd[fd] || origin < 0)
        return real_timerfd_settime(fd, flags, value, old);
    struct itimerspec real = *value;
    long long slow = (long long)value->it_value.tv_sec * 1000000000LL + value->it_value.tv_nsec;
    if (slow != 0) {  /* zero disarms */
        long long span = slow - origin, at;
        if (span > (9000000000000000000LL - origin) / factor) at = 9000000000000000000LL;  /* "never" stays never */
        else at = origin + span * factor;
        if (at <= 0) at = 1;
        real.it_value.tv_sec = at / 1000000000LL;
        real.it_value.tv_nsec = at % 1000000000LL;
    }
    return real_timerfd_settime(fd, flags, &real, old);
}
